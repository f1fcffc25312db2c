"""https: served directly with `[http] tls_cert`/`tls_key` (a certificate the test makes), or behind a
proxy whose `X-Forwarded-Proto`/`-For` are believed only from `[http] trusted_proxies`."""

from __future__ import annotations

import contextlib
import ssl
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp

from cti_daemon.app import Daemon
from cti_daemon.crm.seed import SeedSummary
from cti_daemon.demo.broker import LocalBroker
from tests.conftest import Sim, daemon_config
from tests.support.browser import PASSWORDS, give_passwords
from tests.support.certs import make_certs


@contextlib.asynccontextmanager
async def _daemon(
    sim: Sim, broker: LocalBroker, db_url: str, **sections: dict[str, Any]
) -> AsyncIterator[Daemon]:
    await give_passwords(db_url)
    config = daemon_config(ami_port=sim.port, mqtt_url=broker.url, db_url=db_url, **sections)
    async with Daemon(config) as daemon:
        await daemon.wait_ready()
        yield daemon


async def test_given_tls_configured_then_sign_in_is_served_over_https_with_a_secure_cookie(
    sim: Sim, broker: LocalBroker, seeded_sqlite: tuple[str, SeedSummary], tmp_path: Path
) -> None:
    certs = make_certs(tmp_path)
    tls = {"tls_cert": str(certs.server_cert), "tls_key": str(certs.server_key), "listen": "127.0.0.1:0"}
    trust = ssl.create_default_context(cafile=str(certs.ca))
    async with (
        _daemon(sim, broker, seeded_sqlite[0], http=tls) as daemon,
        aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http,
    ):
        base = f"https://127.0.0.1:{daemon.api.port}"
        body = {"login": "porlov", "password": PASSWORDS["porlov"]}
        async with http.post(f"{base}/api/v1/session", json=body, ssl=trust) as resp:
            assert resp.status == 200
            assert "Secure" in resp.headers["Set-Cookie"] and "HttpOnly" in resp.headers["Set-Cookie"]
        # The page's origin is https: a change claiming the http origin is refused.
        note = {"text": "x"}
        for origin, status in ((f"http://127.0.0.1:{daemon.api.port}", 403), (base, 404)):
            async with http.post(
                f"{base}/api/v1/contacts/none/notes", json=note, ssl=trust, headers={"Origin": origin}
            ) as resp:
                assert resp.status == status, origin
        # Plain http on the TLS port is not served.
        async with aiohttp.ClientSession() as plain:
            try:
                async with plain.get(f"http://127.0.0.1:{daemon.api.port}/healthz") as resp:
                    served = resp.status == 200
            except aiohttp.ClientError:
                served = False
        assert not served


async def _sign_in(
    http: aiohttp.ClientSession, base: str, login: str, password: str, **headers: str
) -> aiohttp.ClientResponse:
    body = {"login": login, "password": password}
    async with http.post(f"{base}/api/v1/session", json=body, headers=headers) as resp:
        await resp.read()
        return resp


async def test_given_a_trusted_proxy_then_its_forwarded_proto_and_address_count_and_nobody_elses(
    sim: Sim, broker: LocalBroker, seeded_sqlite: tuple[str, SeedSummary]
) -> None:
    limits = {"signin_limit_per_address": 2, "signin_limit_per_login": 50}
    async with (
        _daemon(
            sim, broker, seeded_sqlite[0], http={"trusted_proxies": ["127.0.0.0/8"]}, sessions=limits
        ) as d,
        aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http,
    ):
        base = f"http://127.0.0.1:{d.api.port}"
        proxied = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "198.51.100.9, 203.0.113.5"}
        resp = await _sign_in(http, base, "porlov", PASSWORDS["porlov"], **proxied)
        assert resp.status == 200 and "Secure" in resp.headers["Set-Cookie"]
        # Failures are counted per client address as the proxy saw it (the last X-Forwarded-For entry).
        for login in ("ivolkova", "asmirnova"):
            assert (await _sign_in(http, base, login, "wrong-password-1", **proxied)).status == 401
        limited = await _sign_in(http, base, "slebedev", "wrong-password-1", **proxied)
        assert limited.status == 429 and int(limited.headers["Retry-After"]) >= 1
        elsewhere = {**proxied, "X-Forwarded-For": "203.0.113.6"}
        assert (await _sign_in(http, base, "slebedev", "wrong-password-1", **elsewhere)).status == 401

    async with (
        _daemon(sim, broker, seeded_sqlite[0], http={"trusted_proxies": ["10.9.9.9"]}) as d,
        aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http,
    ):
        base = f"http://127.0.0.1:{d.api.port}"
        resp = await _sign_in(http, base, "porlov", PASSWORDS["porlov"], **{"X-Forwarded-Proto": "https"})
        assert resp.status == 200 and "Secure" not in resp.headers["Set-Cookie"]

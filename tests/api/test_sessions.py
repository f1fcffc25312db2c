"""Signing in from a browser: the cookie, one answer for a wrong password and an unknown login, the
limit, signing out on the server, the Origin check, and sessions that outlive a restart."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from cti_daemon.crm.seed import SeedSummary
from cti_daemon.demo.broker import LocalBroker
from tests.conftest import Sim, daemon_config
from tests.support.api import Api, new_token, running_api, write_tokens
from tests.support.browser import PASSWORDS, give_passwords, page


@pytest.fixture
async def api(
    sim: Sim, broker: LocalBroker, seeded_sqlite: tuple[str, SeedSummary], tmp_path: Path
) -> AsyncIterator[Api]:
    db_url, _ = seeded_sqlite
    await give_passwords(db_url)
    token = new_token()
    tokens = write_tokens(tmp_path, ("reception-console", token))
    config = daemon_config(
        ami_port=sim.port,
        mqtt_url=broker.url,
        db_url=db_url,
        http={"tokens_file": str(tokens)},
        sessions={"signin_limit_per_login": 3, "signin_limit_per_address": 50},
    )
    async with running_api(config, token) as running:
        yield running


async def test_given_a_password_set_when_porlov_signs_in_then_he_is_named_and_gets_a_strict_httponly_cookie(
    api: Api,
) -> None:
    async with page(api.base) as tab:
        status, body, resp = await tab.call(
            "POST", "/api/v1/session", {"login": "porlov", "password": "pavel-Pa55word-201"}
        )
        assert status == 200
        assert body == {
            "login": "porlov",
            "employee_id": "e-201",
            "name": "Pavel Orlov",
            "role": "employee",
            "extension": "201",
        }
        set_cookie = resp.headers["Set-Cookie"]
        assert set_cookie.startswith("cti_session=")
        assert all(part in set_cookie for part in ("HttpOnly", "SameSite=Strict", "Path=/"))
        assert "Secure" not in set_cookie  # plain http here
        assert (await tab.call("GET", "/api/v1/session"))[:2] == (200, body)
        # The cookie alone reaches the API (no token): the purposes list, as Pavel.
        assert (await tab.call("GET", "/api/v1/purposes"))[0] == 200


async def test_given_a_wrong_password_or_an_unknown_login_then_both_get_the_same_401(api: Api) -> None:
    async with page(api.base) as tab:
        guess = "not-his-password"
        wrong = await tab.call("POST", "/api/v1/session", {"login": "porlov", "password": guess})
        unknown = await tab.call("POST", "/api/v1/session", {"login": "nobody", "password": guess})
        assert wrong[0] == unknown[0] == 401
        assert wrong[1] == unknown[1]
        assert wrong[1]["error"]["code"] == "bad_credentials"
        assert tab.cookie() is None
        assert (await tab.call("GET", "/api/v1/session"))[0] == 401


async def test_given_three_failures_for_a_login_then_even_the_right_password_gets_429_with_retry_after(
    api: Api,
) -> None:
    async with page(api.base) as tab:
        for _ in range(3):
            assert (await tab.sign_in("porlov", "guessing-again-1"))[0] == 401
        status, body, resp = await tab.call(
            "POST", "/api/v1/session", {"login": "porlov", "password": "pavel-Pa55word-201"}
        )
        assert status == 429
        assert body["error"]["code"] == "too_many_attempts"
        assert 1 <= int(resp.headers["Retry-After"]) <= 900
        # Another login from the same address is not held back by Pavel's limit.
        assert (await tab.sign_in("ivolkova"))[0] == 200


async def test_given_signed_out_then_the_same_cookie_no_longer_works(api: Api) -> None:
    async with page(api.base) as tab:
        assert (await tab.sign_in("porlov"))[0] == 200
        cookie = tab.cookie()
        assert cookie is not None
        assert (await tab.call("DELETE", "/api/v1/session"))[0] == 204
    async with page(api.base) as replay:
        # An attacker who kept a copy of the cookie: the server has ended the session.
        replay.http.cookie_jar.update_cookies({"cti_session": cookie})
        assert (await replay.call("GET", "/api/v1/session"))[0] == 401
        assert (await replay.call("GET", "/api/v1/purposes"))[0] == 401


async def test_given_a_session_when_a_change_comes_without_its_own_origin_then_403_bad_origin(
    api: Api,
) -> None:
    note = {"text": "called back"}
    async with page(api.base) as tab:
        assert (await tab.sign_in("asmirnova"))[0] == 200
        for origin in (None, "https://evil.example", "null"):
            status, body, _ = await tab.call("POST", "/api/v1/contacts/x/notes", note, origin=origin)
            assert (status, body["error"]["code"]) == (403, "bad_origin")
        # The page's own origin passes the check (and the missing contact is a 404, not a 403).
        assert (await tab.call("POST", "/api/v1/contacts/x/notes", note))[0] == 404
        # Reading needs no Origin.
        assert (await tab.call("GET", "/api/v1/purposes", origin=None))[0] == 200


def _json_lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


async def test_given_sign_ins_right_wrong_and_limited_then_each_refusal_is_logged_and_no_line_has_a_password(
    api: Api, capsys: pytest.CaptureFixture[str]
) -> None:
    wrong = "Wrong-but-close-Pa55word-201"
    async with page(api.base) as tab:
        assert (await tab.sign_in("porlov"))[0] == 200
        assert (await tab.sign_in("ivolkova", wrong))[0] == 401
        assert (await tab.sign_in("ghost", wrong))[0] == 401
        for _ in range(3):
            await tab.sign_in("porlov", wrong)
        assert (await tab.sign_in("porlov"))[0] == 429
        session_id = tab.cookie()
    captured = capsys.readouterr().err
    lines = _json_lines(captured)
    refused = [(e["login"], e["reason"]) for e in lines if e["event"] == "session.signin_refused"]
    assert ("ivolkova", "wrong_password") in refused and ("ghost", "unknown_login") in refused
    assert any(e["event"] == "session.signin_limited" and e["login"] == "porlov" for e in lines)
    assert session_id is not None
    for secret in (wrong, PASSWORDS["porlov"], PASSWORDS["ivolkova"], session_id):
        assert secret not in captured


async def test_given_any_answer_then_it_carries_the_security_headers_and_api_answers_are_not_cached(
    api: Api,
) -> None:
    async with page(api.base) as tab:
        for path, status in (("/api/v1/purposes", 401), ("/healthz", 200), ("/api/v1/nowhere", 401)):
            got, _, resp = await tab.call("GET", path)
            assert got == status
            csp = resp.headers["Content-Security-Policy"]
            assert (
                "script-src 'self'" in csp and "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp
            )
            assert resp.headers["Referrer-Policy"] == "no-referrer"
            assert resp.headers["X-Content-Type-Options"] == "nosniff"
            assert (resp.headers.get("Cache-Control") == "no-store") is path.startswith("/api/")


async def test_given_a_restart_then_a_signed_in_browser_stays_signed_in(
    sim: Sim, broker: LocalBroker, seeded_sqlite: tuple[str, SeedSummary], tmp_path: Path
) -> None:
    db_url, _ = seeded_sqlite
    await give_passwords(db_url)
    token = new_token()
    tokens = write_tokens(tmp_path, ("crm", token))
    config = daemon_config(
        ami_port=sim.port, mqtt_url=broker.url, db_url=db_url, http={"tokens_file": str(tokens)}
    )
    async with running_api(config, token) as before, page(before.base) as tab:
        assert (await tab.sign_in("porlov"))[0] == 200
        session_id = tab.cookie()
    assert session_id is not None
    async with running_api(config, token) as after, page(after.base) as tab:
        tab.http.cookie_jar.update_cookies({"cti_session": session_id})
        status, body, _ = await tab.call("GET", "/api/v1/session")
        assert (status, body["employee_id"]) == (200, "e-201")


async def test_given_signed_in_when_signing_in_again_then_the_earlier_session_ends(api: Api) -> None:
    async with page(api.base) as tab:
        assert (await tab.sign_in("porlov"))[0] == 200
        first = tab.cookie()
        assert (await tab.sign_in("porlov"))[0] == 200
        assert tab.cookie() not in (None, first)
        assert first is not None
    async with page(api.base) as replay:
        replay.http.cookie_jar.update_cookies({"cti_session": first})
        assert (await replay.call("GET", "/api/v1/session"))[0] == 401

"""A browser's side of signing in, without a browser: a cookie jar, the session endpoints, Origin."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import aiohttp
from yarl import URL

from cti_daemon.crm import accounts
from cti_daemon.crm.store import open_store
from cti_daemon.demo.accounts import demo_hash

# Demo people of crm/seed.py: reception's Anna at 100, Pavel (service) at 201, Irina (showroom) at 202.
PASSWORDS = {"asmirnova": "reception-Pa55word", "porlov": "pavel-Pa55word-201", "ivolkova": "irina-Pa55-202"}
ROLES = {"asmirnova": "reception", "porlov": "employee", "ivolkova": "employee"}


async def give_passwords(db_url: str, people: dict[str, str] | None = None) -> None:
    """Passwords and roles set in the store as `cti-daemon users` would, hashed with the demo's light
    Argon2id parameters (tests/test_cli_users.py covers the production ones)."""
    store = open_store(db_url)
    try:
        for login, password in (people or PASSWORDS).items():
            assert await accounts.set_password_hash(store, login, demo_hash(password))
            assert await accounts.set_role(store, login, ROLES.get(login, "employee"))
    finally:
        await store.dispose()


@dataclass
class Page:
    """One browser tab: its own cookies, and an Origin like the page's own."""

    http: aiohttp.ClientSession
    base: str

    @property
    def origin(self) -> str:
        return self.base

    def cookie(self) -> str | None:
        found = self.http.cookie_jar.filter_cookies(URL(self.base)).get("cti_session")
        return found.value if found is not None else None

    async def call(
        self, method: str, path: str, body: Any = None, *, origin: str | None = "own", **kw: Any
    ) -> tuple[int, Any, aiohttp.ClientResponse]:
        headers = dict(kw.pop("headers", {}))
        if origin is not None:
            headers["Origin"] = self.origin if origin == "own" else origin
        async with self.http.request(method, self.base + path, json=body, headers=headers, **kw) as resp:
            answer = await resp.json(content_type=None) if resp.content_type == "application/json" else None
            return resp.status, answer, resp

    async def sign_in(self, login: str, password: str | None = None) -> tuple[int, Any]:
        status, body, _ = await self.call(
            "POST", "/api/v1/session", {"login": login, "password": password or PASSWORDS[login]}
        )
        return status, body


@contextlib.asynccontextmanager
async def page(base: str) -> AsyncIterator[Page]:
    # unsafe=True: keep cookies of an IP address host (127.0.0.1), as browsers do.
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        yield Page(http, base)

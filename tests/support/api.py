"""A daemon with its HTTP API on a free port, a bearer token, and an HTTP client to call it."""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

from cti_daemon.app import Daemon
from cti_daemon.config import Config


@dataclass
class Api:
    daemon: Daemon
    http: aiohttp.ClientSession
    base: str
    token: str
    actor: str

    def url(self, path: str) -> str:
        return self.base + path

    async def get(self, path: str, *, token: str | None = "default", **kw: Any) -> tuple[int, Any]:
        return await self.call("GET", path, token=token, **kw)

    async def post(self, path: str, *, token: str | None = "default", **kw: Any) -> tuple[int, Any]:
        """POST; pass `json=` for a JSON body (or `data=` with headers for anything else)."""
        return await self.call("POST", path, token=token, **kw)

    async def call(
        self, method: str, path: str, *, token: str | None = "default", **kw: Any
    ) -> tuple[int, Any]:
        headers = dict(kw.pop("headers", {}))
        if token is not None:
            headers["Authorization"] = f"Bearer {self.token if token == 'default' else token}"
        async with self.http.request(method, self.url(path), headers=headers, **kw) as resp:
            body = await resp.json(content_type=None) if resp.content_type == "application/json" else None
            return resp.status, body

    async def send(
        self, method: str, path: str, body: Any = None, *, token: str | None = "default", **kw: Any
    ) -> tuple[int, Any]:
        """POST/PATCH/... with a JSON body (None: no body)."""
        headers = dict(kw.pop("headers", {}))
        if token is not None:
            headers["Authorization"] = f"Bearer {self.token if token == 'default' else token}"
        async with self.http.request(method, self.url(path), json=body, headers=headers, **kw) as resp:
            answer = await resp.json(content_type=None) if resp.content_type == "application/json" else None
            return resp.status, answer


def write_tokens(tmp_path: Path, *entries: tuple[str, str]) -> Path:
    path = tmp_path / "tokens"
    path.write_text("# name:token\n" + "".join(f"{n}:{t}\n" for n, t in entries), encoding="utf-8")
    return path


def new_token() -> str:
    return secrets.token_urlsafe(24)


@contextlib.asynccontextmanager
async def running_api(
    config: Config, token: str, actor: str = "reception-console", *, ready: bool = True
) -> AsyncIterator[Api]:
    """`ready=False`: do not wait for the store (a test of the store's absence); AMI and MQTT only."""
    async with Daemon(config) as daemon, aiohttp.ClientSession() as http:
        if ready:
            await daemon.wait_ready()
        else:
            await daemon.ami.wait_connected(10)
            await daemon.mqtt.wait_connected(10)
        yield Api(daemon, http, f"http://127.0.0.1:{daemon.api.port}", token, actor)


@contextlib.asynccontextmanager
async def reception_api(
    *, ami_port: int, mqtt_url: str, db_url: str, tmp_path: Path, **sections: dict[str, Any]
) -> AsyncIterator[Api]:
    """A daemon on the test's simulator, broker and store, with one token named reception-console."""
    from tests.conftest import daemon_config  # noqa: PLC0415 - conftest imports this module's users

    token = new_token()
    tokens = write_tokens(tmp_path, ("reception-console", token))
    http = {"tokens_file": str(tokens), **sections.pop("http", {})}
    config = daemon_config(ami_port=ami_port, mqtt_url=mqtt_url, db_url=db_url, http=http, **sections)
    async with running_api(config, token) as api:
        yield api

"""The HTTP adapter (aiohttp): its lifetime, the routes, the error shape."""

from __future__ import annotations

from types import TracebackType
from typing import Self

from aiohttp import web

from cti_daemon import logs
from cti_daemon.api.health import HealthProbe

log = logs.get("cti.api")


class ApiServer:
    def __init__(self, *, listen: str, health: HealthProbe, max_body_bytes: int = 1_048_576) -> None:
        host, _, port = listen.rpartition(":")
        self._host = host.strip("[]")
        self._port = int(port)
        self._health = health
        self.app = web.Application(client_max_size=max_body_bytes)
        self.app.router.add_get("/healthz", self._healthz)
        self._runner: web.AppRunner | None = None
        self.port: int | None = None

    async def __aenter__(self) -> Self:
        self._runner = web.AppRunner(self.app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self._host, self._port)
        await site.start()
        server = site._server  # aiohttp exposes the bound port nowhere else
        sockets = getattr(server, "sockets", None) or []
        self.port = sockets[0].getsockname()[1] if sockets else self._port
        log.info("api.listening", host=self._host, port=self.port)
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _healthz(self, _request: web.Request) -> web.Response:
        report = await self._health.report()
        return web.json_response(report, status=200 if report["status"] == "ok" else 503)

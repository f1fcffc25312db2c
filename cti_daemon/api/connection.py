"""The HTTP connection itself, below the middlewares: what aiohttp answers on its own, and slow clients.

aiohttp's HTTP parser refuses a header line that is too long, too many headers or an unknown method before
any middleware runs, and its `RequestHandler.handle_error` answers those in text/plain (and logs a
traceback for each). `_Protocol` answers them in the API's JSON error shape with one log line instead.

It also bounds how long a client may take to send a request's head: a connection that has not delivered a
complete request line and headers `header_timeout_s` after connecting (or after it started sending the next
request on a kept-alive connection) is closed, so a slowloris client cannot hold a socket for ever. A
request's body has its own deadline where it is read (`routes.json_body`, 408), and what a handler left
unread is drained `LINGER_S` at most. Idle kept-alive connections are closed after `KEEPALIVE_S`.
"""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web
from aiohttp.http_exceptions import BadHttpMethod, HttpProcessingError, LineTooLong
from aiohttp.web_protocol import RequestHandler
from aiohttp.web_request import BaseRequest

from cti_daemon import logs
from cti_daemon.api.errors import error_response

log = logs.get("cti.api")

KEEPALIVE_S = 75.0
# After an answer sent before the request's body was read (a 408, a 413), the rest is read and dropped this
# long, so the client sees the answer rather than a reset; then the connection is closed.
LINGER_S = 2.0
_MESSAGE_MAX = 200


def _unreadable(exc: BaseException | None) -> tuple[str, str]:
    """(code, message) for a request aiohttp's parser refused."""
    if isinstance(exc, LineTooLong):
        return "header_too_large", "the request line or a header is too long"
    if isinstance(exc, BadHttpMethod):
        return "bad_method", "not an HTTP method this server knows"
    if isinstance(exc, HttpProcessingError) and exc.message:
        return "bad_request", f"the request cannot be read: {exc.message[:_MESSAGE_MAX]}"
    return "bad_request", "the request cannot be read"


class _Protocol(RequestHandler):
    """One client connection: JSON for aiohttp's own refusals, and the request-head deadline."""

    def __init__(self, manager: web.Server, *, header_timeout_s: float, **kwargs: Any) -> None:
        super().__init__(manager, **kwargs)
        self._header_timeout_s = header_timeout_s
        self._head_deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        self._arm_head_deadline()

    def data_received(self, data: bytes) -> None:
        parsed_before = self._request_count
        super().data_received(data)
        if self._request_count != parsed_before:
            self._disarm_head_deadline()  # a whole request head arrived
        elif data and self._head_deadline is None and self._between_requests():
            self._arm_head_deadline()  # the first bytes of the next request on a kept-alive connection

    def connection_lost(self, exc: BaseException | None) -> None:
        self._disarm_head_deadline()
        super().connection_lost(exc)

    def handle_error(
        self,
        request: BaseRequest,
        status: int = 500,
        exc: BaseException | None = None,
        message: str | None = None,
    ) -> web.StreamResponse:
        if request.writer.output_size > 0:
            raise ConnectionError("the answer has begun; no error answer can follow it")
        if status >= 500:
            log.error("api.request_failed", status=status, peer=request.remote, exc_info=exc)
            code, text = ("timeout", "the request took too long") if status == 504 else ("internal", "")
            text = text or "internal error; the daemon's log has the details"
        else:
            code, text = _unreadable(exc)
            log.info("api.request_unreadable", status=status, code=code, peer=request.remote)
        response = error_response(status, code, text)
        response.force_close()
        return response

    def _between_requests(self) -> bool:
        return self._current_request is None and not self._messages

    def _arm_head_deadline(self) -> None:
        if self._header_timeout_s > 0:
            self._head_deadline = self._loop.call_later(self._header_timeout_s, self._head_too_slow)

    def _disarm_head_deadline(self) -> None:
        if self._head_deadline is not None:
            self._head_deadline.cancel()
            self._head_deadline = None

    def _head_too_slow(self) -> None:
        self._head_deadline = None
        if not self._between_requests():
            return
        peer = self.transport.get_extra_info("peername") if self.transport is not None else None
        log.info("api.slow_client_closed", peer=str(peer), waited_s=self._header_timeout_s)
        self.force_close()


class _Server(web.Server):
    def __init__(self, plain: web.Server, *, header_timeout_s: float) -> None:
        super().__init__(
            plain.request_handler,
            request_factory=plain.request_factory,
            handler_cancellation=plain.handler_cancellation,
            loop=asyncio.get_running_loop(),
            **plain._kwargs,
        )
        self._header_timeout_s = header_timeout_s

    def __call__(self) -> RequestHandler:
        return _Protocol(self, loop=self._loop, header_timeout_s=self._header_timeout_s, **self._kwargs)


class GuardedRunner(web.AppRunner):
    """`web.AppRunner` whose connections are `_Protocol`s."""

    def __init__(self, app: web.Application, *, header_timeout_s: float, **kwargs: Any) -> None:
        super().__init__(app, keepalive_timeout=KEEPALIVE_S, lingering_time=LINGER_S, **kwargs)
        self._header_timeout_s = header_timeout_s

    async def _make_server(self) -> web.Server:
        plain = await super()._make_server()
        return _Server(plain, header_timeout_s=self._header_timeout_s)

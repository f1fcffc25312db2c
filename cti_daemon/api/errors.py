"""The API's one error shape, `{"error": {"code", "message", "field"}}`, for every 4xx and 5xx.

Handlers raise `ApiError`; the middleware also turns aiohttp's own refusals (unknown path, wrong method,
body too large) and any unexpected exception into that shape, so a client never parses HTML or a
traceback. A 500 says nothing about the cause: the log line does, with fields.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from cti_daemon import logs

log = logs.get("cti.api")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
MAX_BODY_BYTES = web.AppKey("max_body_bytes", int)

_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    408: "request_timeout",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "invalid",
    503: "unavailable",
}


class ApiError(Exception):
    """An answer that is not a success: status, a stable machine code, a message for people, the field."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        field: str | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.field = field
        self.extra = extra or {}  # more machine-readable detail, e.g. the allowed statuses of a 409


def bad_request(message: str, *, field: str | None = None, code: str = "invalid") -> ApiError:
    return ApiError(400, code, message, field=field)


def not_found(message: str, *, field: str | None = None) -> ApiError:
    return ApiError(404, "not_found", message, field=field)


def error_response(
    status: int, code: str, message: str, field: str | None = None, extra: dict[str, Any] | None = None
) -> web.Response:
    body = {"error": {"code": code, "message": message, "field": field, **(extra or {})}}
    headers = {"WWW-Authenticate": 'Bearer realm="cti-daemon"'} if status == 401 else None
    response = web.json_response(body, status=status, headers=headers)
    if status == 408:
        response.force_close()  # the rest of a body that came too slowly is not waited for
    return response


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except ApiError as exc:
        return error_response(exc.status, exc.code, exc.message, exc.field, exc.extra)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise  # redirects and the like are not errors
        message = _message_for(exc, request)
        response = error_response(exc.status, _CODES.get(exc.status, "error"), message)
        if exc.status == 405:
            allowed = exc.headers.get("Allow")
            if allowed:
                response.headers["Allow"] = allowed
        return response
    except Exception:
        log.exception("api.handler_failed", method=request.method, path=request.path)
        return error_response(500, "internal", "internal error; the daemon's log has the details")


def _message_for(exc: web.HTTPException, request: web.Request) -> str:
    if exc.status == 404:
        return f"no such endpoint: {request.path}"
    if exc.status == 405:
        return f"{request.method} is not allowed on {request.path}"
    if exc.status == 413:
        return f"request body too large (limit {request.app[MAX_BODY_BYTES]} bytes)"
    return exc.reason

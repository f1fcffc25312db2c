"""How a feature plugs into the API: a list of `Route`s, each a handler and its OpenAPI operation.

A feature is one small module with a `routes(...)` function taking what it needs (a Protocol, never the
daemon); `ApiServer` registers them and `openapi.document` describes exactly those, so a route cannot
exist without its documentation. Helpers here read query strings, path parts and JSON bodies the same
way everywhere, with errors in the API's shape.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from cti_daemon.api.errors import ApiError, bad_request
from cti_daemon.json_text import JsonTextError, loads_text

RouteHandler = Callable[[web.Request], Awaitable[web.StreamResponse]]
# request[ACTOR]: the name of the token that authenticated the request (the journal records it)
ACTOR = web.RequestKey("actor", str)
# A request's body must have arrived this long after its head (a client trickling it holds a connection).
BODY_TIMEOUT_S = web.AppKey("body_timeout_s", float)


@dataclass(frozen=True, slots=True)
class Route:
    method: str  # GET, POST, PATCH, ...
    path: str  # aiohttp form: /api/v1/calls/{call_id}
    handler: RouteHandler
    summary: str
    responses: Mapping[str, Any]  # OpenAPI responses by status code (errors are added for you)
    parameters: list[dict[str, Any]] = field(default_factory=list)
    request_body: Mapping[str, Any] | None = None  # a JSON Schema
    public: bool = False  # no bearer token needed (health, metrics, the document itself)
    tag: str = "api"


def ok(body: Any, status: int = 200) -> web.Response:
    return web.json_response(body, status=status, dumps=_dumps)


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def query_text(request: web.Request, name: str, *, required: bool = True, max_len: int = 200) -> str | None:
    """One query parameter as stripped text; 400 naming the parameter when missing, repeated or too long."""
    values = request.query.getall(name, [])
    if len(values) > 1:
        raise bad_request(f"{name} given {len(values)} times; give it once", field=name)
    if not values or not values[0].strip():
        if required:
            raise bad_request(f"{name} is required", field=name)
        return None
    text = values[0].strip()
    if len(text) > max_len:
        raise bad_request(f"{name} is longer than {max_len} characters", field=name)
    if any(ord(c) < 32 for c in text):
        raise bad_request(f"{name} contains control characters", field=name)
    return text


def path_text(request: web.Request, name: str, *, max_len: int = 64) -> str:
    text = request.match_info.get(name, "")
    if not text or len(text) > max_len or any(ord(c) < 32 for c in text):
        raise bad_request(f"{name} must be 1 to {max_len} printable characters", field=name)
    return text


async def json_body(request: web.Request) -> dict[str, Any]:
    """The request's JSON object. 413 beyond the body limit (aiohttp raises it while reading), 415 when
    the body is not declared JSON, 400 when it does not parse or is not an object, 408 when it does not
    arrive within BODY_TIMEOUT_S."""
    if request.content_type != "application/json":
        raise ApiError(415, "unsupported_media_type", "send the body as application/json")
    limit = request.app.get(BODY_TIMEOUT_S)
    try:
        async with asyncio.timeout(limit):
            raw = await request.read()
    except TimeoutError:
        raise ApiError(408, "request_timeout", f"the request body did not arrive within {limit} s") from None
    except ConnectionError:  # the client went away mid-body: nobody to answer, nothing to trace
        raise ApiError(400, "incomplete_body", "the connection closed before the body was complete") from None
    try:
        value = loads_text(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise bad_request("the body is not UTF-8", code="bad_json") from None
    except json.JSONDecodeError as exc:
        message = f"the body is not valid JSON ({exc.msg} at character {exc.pos})"
        raise bad_request(message, code="bad_json") from None
    except JsonTextError as exc:
        raise bad_request(
            f"the body cannot be used: {exc}", code="bad_json", field=exc.where or None
        ) from None
    if not isinstance(value, dict):
        raise bad_request("the body must be a JSON object", code="bad_json")
    return value

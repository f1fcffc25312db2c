"""The HTTP adapter (aiohttp): its lifetime, the middlewares, registering the features' routes."""

from __future__ import annotations

import ssl
from collections.abc import Iterable, Sequence
from types import TracebackType
from typing import Any, Self

from aiohttp import web

from cti_daemon import logs
from cti_daemon.api.auth import (
    PUBLIC_PATHS,
    PUBLIC_ROUTES,
    TOKENS,
    TokenBook,
    TokenFileError,
    auth_middleware,
)
from cti_daemon.api.errors import MAX_BODY_BYTES, ApiError, Handler, error_middleware
from cti_daemon.api.openapi import DOCUMENT_PATH, document
from cti_daemon.api.routes import Route, ok
from cti_daemon.api.session_book import SessionBook
from cti_daemon.api.sessions import SESSIONS
from cti_daemon.api.web_security import TRUSTED_PROXIES, parse_networks, security_headers

log = logs.get("cti.api")

API_VERSION = "1"
DOCUMENT = web.AppKey("openapi_document", dict[str, Any])


@web.middleware
async def _body_limit(request: web.Request, handler: Handler) -> web.StreamResponse:
    # aiohttp enforces client_max_size only when a handler reads the body; refuse a declared oversize body
    # on every route, so a GET with 10 MB attached is a 413 too, not silently ignored.
    limit = request.app[MAX_BODY_BYTES]
    if request.content_length is not None and request.content_length > limit:
        raise ApiError(413, "payload_too_large", f"request body too large (limit {limit} bytes)")
    return await handler(request)


def build_app(
    routes: Iterable[Route],
    *,
    tokens: TokenBook,
    max_body_bytes: int,
    sessions: SessionBook | None = None,
    trusted_proxies: Sequence[str] = (),
) -> web.Application:
    """The aiohttp application: every route given, plus the OpenAPI document that describes them."""
    listed = list(routes)
    doc: dict[str, Any] = {}

    async def serve_document(_request: web.Request) -> web.Response:
        return ok(doc)

    doc_route = Route(
        "GET",
        DOCUMENT_PATH,
        serve_document,
        "This document: every endpoint, its parameters and answers",
        {"200": {"description": "OpenAPI 3.1 document", "content": {"application/json": {}}}},
        public=True,
        tag="meta",
    )
    listed.append(doc_route)
    doc.update(document(listed, version=API_VERSION))
    app = web.Application(
        client_max_size=max_body_bytes, middlewares=[error_middleware, _body_limit, auth_middleware]
    )
    app[MAX_BODY_BYTES] = max_body_bytes
    app[TOKENS] = tokens
    app[DOCUMENT] = doc
    app[PUBLIC_PATHS] = frozenset(r.path for r in listed if r.public)
    app[TRUSTED_PROXIES] = parse_networks(trusted_proxies)
    if sessions is not None:
        app[SESSIONS] = sessions
    app.on_response_prepare.append(security_headers)
    public: set[web.AbstractRoute] = set()
    for route in listed:
        added = app.router.add_route(route.method, route.path, route.handler)
        if route.public:
            public.add(added)
    app[PUBLIC_ROUTES] = frozenset(public)
    return app


def tls_context(cert: str | None, key: str | None) -> ssl.SSLContext | None:
    """`[http] tls_cert`/`tls_key`: serve https directly (None: plain http, e.g. behind a proxy)."""
    if cert is None or key is None:
        return None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(cert, key)
    return context


class ApiServer:
    def __init__(
        self,
        *,
        listen: str,
        routes: Iterable[Route],
        tokens: TokenBook | None = None,
        max_body_bytes: int = 1_048_576,
        sessions: SessionBook | None = None,
        trusted_proxies: Sequence[str] = (),
        tls: ssl.SSLContext | None = None,
    ) -> None:
        host, _, port = listen.rpartition(":")
        self._host = host.strip("[]")
        self._port = int(port)
        self.tokens = tokens if tokens is not None else TokenBook({})
        if not len(self.tokens):
            log.warning(
                "api.no_tokens", effect="every /api/v1 call is refused with 401 until http.tokens_file"
            )
        self.app = build_app(
            routes,
            tokens=self.tokens,
            max_body_bytes=max_body_bytes,
            sessions=sessions,
            trusted_proxies=trusted_proxies,
        )
        self._tls = tls
        self.document: dict[str, Any] = self.app[DOCUMENT]
        self._runner: web.AppRunner | None = None
        self.port: int | None = None

    def reload_tokens(self, path: str | None) -> bool:
        """Re-read the tokens file: added tokens work and removed ones stop working at once. A file that
        cannot be read or has a bad line changes nothing (the log line names line numbers, never a token)."""
        if path is None:
            log.warning("api.tokens_not_reloaded", reason="no http.tokens_file is configured")
            return False
        try:
            fresh = TokenBook.load(path)
        except TokenFileError as exc:
            reason = "; ".join(exc.problems)
        except UnicodeDecodeError:
            reason = "the file is not UTF-8"
        except OSError as exc:
            reason = exc.strerror or type(exc).__name__
        else:
            before, after = self.tokens.names(), fresh.names()
            self.tokens.take(fresh)
            log.info(
                "api.tokens_reloaded",
                path=path,
                tokens=len(fresh),
                added=sorted(after - before),
                removed=sorted(before - after),
            )
            return True
        log.warning("api.tokens_not_reloaded", path=path, reason=reason, effect="the tokens in use stay")
        return False

    async def __aenter__(self) -> Self:
        self._runner = web.AppRunner(self.app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self._host, self._port, ssl_context=self._tls)
        await site.start()
        server = site._server  # aiohttp exposes the bound port nowhere else
        sockets = getattr(server, "sockets", None) or []
        self.port = sockets[0].getsockname()[1] if sockets else self._port
        log.info("api.listening", host=self._host, port=self.port, tls=self._tls is not None)
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

"""What the browser needs from every answer, and what the daemon believes about where a request came from.

- The scheme is https when the daemon serves TLS itself, or when a configured trusted proxy says so with
  `X-Forwarded-Proto`; that header from anyone else is ignored (it would let a client claim https).
- The client's address is the peer's, or, behind a trusted proxy, the last one in `X-Forwarded-For`.
- A state-changing request made with a session cookie must come from the daemon's own page: its Origin
  must equal the request's own scheme://host (CSRF). A missing Origin is refused too: every browser that
  supports SameSite sends one on such requests, so only a forged or stripped request lacks it.
- Security headers go on every answer, errors and static files included (`on_response_prepare`).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from aiohttp import web

from cti_daemon import logs
from cti_daemon.api.errors import ApiError

log = logs.get("cti.api.web")

TRUSTED_PROXIES = web.AppKey("trusted_proxies", tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...])
STATE_CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "connect-src 'self'",  # the WebSocket of the same origin included (CSP Level 3)
        "img-src 'self' data:",
        "frame-ancestors 'none'",
        "base-uri 'none'",
        "form-action 'self'",
    ]
)
_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}


def parse_networks(
    entries: Iterable[str],
) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    """`10.0.0.5` or `10.0.0.0/24` entries; ValueError names the bad one."""
    return tuple(ipaddress.ip_network(entry.strip(), strict=False) for entry in entries)


def _from_trusted_proxy(request: web.Request) -> bool:
    proxies = request.app.get(TRUSTED_PROXIES, ())
    if not proxies or request.remote is None:
        return False
    try:
        peer = ipaddress.ip_address(request.remote)
    except ValueError:
        return False  # a Unix socket's peer
    return any(peer in net for net in proxies)


def request_scheme(request: web.Request) -> str:
    if request.transport is not None and request.transport.get_extra_info("sslcontext") is not None:
        return "https"
    if _from_trusted_proxy(request):
        told = request.headers.get("X-Forwarded-Proto", "").split(",")[0].strip().lower()
        if told in ("http", "https"):
            return told
    return "http"


def client_address(request: web.Request) -> str:
    if _from_trusted_proxy(request):
        forwarded = [a.strip() for a in request.headers.get("X-Forwarded-For", "").split(",") if a.strip()]
        if forwarded:
            return forwarded[-1]  # the one the proxy itself added; earlier ones the client may have made up
    return request.remote or "unknown"


def own_origin(request: web.Request) -> str:
    return f"{request_scheme(request)}://{request.host}".lower()


def check_origin(request: web.Request, *, required: bool = True) -> None:
    """403 `bad_origin` unless the Origin header is this daemon's own (a missing one when `required`)."""
    origin = request.headers.get("Origin")
    if origin is None and not required:
        return
    if origin is None or origin.strip().lower() != own_origin(request):
        log.warning(
            "api.bad_origin", method=request.method, path=request.path, origin=origin, peer=request.remote
        )
        raise ApiError(
            403,
            "bad_origin",
            "a signed-in page may change things only from its own origin "
            f"({own_origin(request)}); this request's Origin is {origin or 'missing'}",
        )


def is_websocket_upgrade(request: web.Request) -> bool:
    return request.headers.get("Upgrade", "").lower() == "websocket"


async def security_headers(request: web.Request, response: web.StreamResponse) -> None:
    """`app.on_response_prepare`: on every answer, whichever handler or middleware made it."""
    for name, value in _HEADERS.items():
        response.headers.setdefault(name, value)
    if request.path.startswith("/api/"):
        response.headers["Cache-Control"] = "no-store"

"""GET / and the page's assets (cti_daemon/web/static), served from memory with strict headers.

GET / is the reception console (console.html) for a person signed in with the reception or admin role,
and otherwise the employee's page (index.html), which asks GET /api/v1/session and shows the sign-in form
when that is 401 (and reloads once a reception person signed in, to be given the console).
GET /reports is the call report page (reports.html), reception's and the admin's only; GET /accounts
the accounts page (accounts.html), the admin's only.
Assets are read once at start; each is its own public route (the sign-in form must load before anyone
is signed in) and answers 304 to a matching If-None-Match. No inline script or style anywhere, so
the Content-Security-Policy (api.web_security) needs no 'unsafe-inline'.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from importlib import resources

from aiohttp import web

from cti_daemon.api.errors import ApiError
from cti_daemon.api.principal import Role
from cti_daemon.api.routes import Route, RouteHandler
from cti_daemon.api.sessions import session_principal

# The security headers (CSP without 'unsafe-inline', frame-ancestors 'none', ...) are api.web_security's,
# on every answer. Assets are revalidated on each load (ETag), so a new daemon's page is seen at once.
PAGE_HEADERS = {"Cache-Control": "no-cache"}
_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json; charset=utf-8",
    ".svg": "image/svg+xml",
}


@dataclass(frozen=True, slots=True)
class Asset:
    name: str
    body: bytes
    content_type: str
    etag: str


def load_assets() -> dict[str, Asset]:
    folder = resources.files("cti_daemon.web") / "static"
    found: dict[str, Asset] = {}
    for entry in folder.iterdir():
        suffix = "." + entry.name.rpartition(".")[2]
        if not entry.is_file() or suffix not in _TYPES:
            continue
        body = entry.read_bytes()
        etag = '"' + hashlib.sha256(body).hexdigest()[:20] + '"'
        found[entry.name] = Asset(entry.name, body, _TYPES[suffix], etag)
    return found


def _serve(asset: Asset) -> RouteHandler:
    async def handler(request: web.Request) -> web.StreamResponse:
        if request.headers.get("If-None-Match") == asset.etag:
            return web.Response(status=304, headers={**PAGE_HEADERS, "ETag": asset.etag})
        return web.Response(
            body=asset.body, headers={**PAGE_HEADERS, "ETag": asset.etag, "Content-Type": asset.content_type}
        )

    return handler


def _by_role(employee_page: Asset, console: Asset) -> RouteHandler:
    own, desk = _serve(employee_page), _serve(console)

    async def handler(request: web.Request) -> web.StreamResponse:
        principal = await session_principal(request)
        if principal is not None and principal.role.covers(Role.RECEPTION):
            return await desk(request)
        return await own(request)

    return handler


def _for_role(page: Asset, needed: Role, what: str) -> RouteHandler:
    """A page of one role and those above it (the call report: reception; the accounts: admin): the role
    is checked here, not only by the API calls the page makes, so nobody else is even given it."""
    serve = _serve(page)

    async def handler(request: web.Request) -> web.StreamResponse:
        principal = await session_principal(request)
        if principal is None:
            raise web.HTTPSeeOther("/")  # the sign-in form
        if not principal.role.covers(needed):
            raise ApiError(
                403, "forbidden", f"{what} needs the {needed.value} role (you are {principal.role.value})"
            )
        return await serve(request)

    return handler


def routes() -> list[Route]:
    assets = load_assets()
    html = {"200": {"description": "the page", "content": {"text/html": {}}}}
    out = [
        Route(
            "GET",
            "/",
            _by_role(assets["index.html"], assets["console.html"]),
            "The page: sign-in, then one's own (the reception console for reception and admin)",
            html,
            public=True,
            tag="pages",
        ),
        Route(
            "GET",
            "/reports",
            _for_role(assets["reports.html"], Role.RECEPTION, "the call report"),
            "The call report page (reception and admin; others get 403, the signed-out the sign-in form)",
            {**html, "403": {"description": "not reception or admin"}},
            public=True,
            tag="pages",
        ),
        Route(
            "GET",
            "/accounts",
            _for_role(assets["accounts.html"], Role.ADMIN, "the accounts page"),
            "The accounts page (admin; others get 403, the signed-out the sign-in form)",
            {**html, "403": {"description": "not admin"}},
            public=True,
            tag="pages",
        ),
    ]
    out.extend(
        Route(
            "GET",
            f"/static/{name}",
            _serve(assets[name]),
            f"The page's asset {name}",
            {"200": {"description": name, "content": {assets[name].content_type.split(";")[0]: {}}}},
            public=True,
            tag="pages",
        )
        for name in sorted(assets)
    )
    return out

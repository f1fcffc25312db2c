"""Signing in from a browser: `POST/GET/DELETE /api/v1/session` and the session cookie.

The cookie holds an opaque random id (`HttpOnly; SameSite=Strict; Path=/`, `Secure` over https); the
store keeps only its SHA-256 (`session_book.py`). `session_principal` is how anything outside the auth
middleware (the pages, the WebSocket stream) learns who a cookie belongs to.
"""

from __future__ import annotations

from aiohttp import web

from cti_daemon import logs
from cti_daemon.api.errors import ApiError, bad_request, error_response
from cti_daemon.api.principal import PRINCIPAL, Principal, Role
from cti_daemon.api.routes import ACTOR, Route, json_body, ok
from cti_daemon.api.session_book import SessionBook, SignInLimitedError, SignInRefusedError
from cti_daemon.api.web_security import (
    STATE_CHANGING,
    check_origin,
    client_address,
    is_websocket_upgrade,
    request_scheme,
)
from cti_daemon.crm.accounts import Account
from cti_daemon.crm.store import StoreUnavailableError
from cti_daemon.passwords import MAX_PASSWORD_LENGTH

log = logs.get("cti.api.sessions")

COOKIE = "cti_session"
SESSIONS = web.AppKey("sessions", SessionBook)
PATH = "/api/v1/session"
_MAX_COOKIE = 128  # token_urlsafe(32) is 43 characters; anything much longer is not ours


def cookie_of(request: web.Request) -> str | None:
    value = request.cookies.get(COOKIE)
    if not value or len(value) > _MAX_COOKIE:
        return None
    return value


def _principal(account: Account) -> Principal | None:
    try:
        role = Role(account.role)
    except ValueError:  # a role written into the store by hand: nobody is let in on a guess
        log.warning("session.unknown_role", login=account.login, role=account.role)
        return None
    return Principal(actor=account.login, role=role, employee_id=account.employee_id, via="session")


async def session_principal(request: web.Request) -> Principal | None:
    """The signed-in person behind the request's cookie, or None (no cookie, ended, expired, disabled).

    A state-changing request or a WebSocket upgrade made with a cookie must pass the Origin check (403
    `bad_origin`). Sets request[PRINCIPAL] and request[ACTOR] (the login) when found.
    """
    session_id = cookie_of(request)
    book = request.app.get(SESSIONS)
    if session_id is None or book is None:
        return None
    if request.method in STATE_CHANGING or is_websocket_upgrade(request):
        check_origin(request)
    account = await book.check(session_id)
    principal = _principal(account) if account is not None else None
    if account is None or principal is None:
        log.info("session.refused", method=request.method, path=request.path, peer=request.remote)
        return None
    request[PRINCIPAL] = principal
    request[ACTOR] = account.login
    return principal


def account_json(account: Account) -> dict[str, str | None]:
    return {
        "login": account.login,
        "employee_id": account.employee_id,
        "name": account.name,
        "role": account.role,
        "extension": account.extension,
    }


def with_session(response: web.Response, request: web.Request, session_id: str) -> web.Response:
    response.set_cookie(
        COOKIE,
        session_id,
        path="/",
        httponly=True,
        samesite="Strict",
        secure=request_scheme(request) == "https",
    )
    return response


def no_session() -> ApiError:
    return ApiError(401, "unauthorized", "not signed in (or the session has ended): sign in again")


def routes(book: SessionBook) -> list[Route]:
    async def sign_in(request: web.Request) -> web.Response:
        # A page of another site must not sign the browser in under an account of its choosing.
        check_origin(request, required=False)
        body = await json_body(request)
        login, password = body.get("login"), body.get("password")
        if not isinstance(login, str) or not login.strip() or len(login) > 64:
            raise bad_request("login must be text of 1 to 64 characters", field="login")
        if not isinstance(password, str) or len(password) > MAX_PASSWORD_LENGTH:
            raise bad_request(
                f"password must be text of at most {MAX_PASSWORD_LENGTH} characters", field="password"
            )
        earlier = cookie_of(request)
        try:
            signed = await book.sign_in(login.strip(), password, client_address(request))
        except SignInLimitedError as exc:
            wait = exc.retry_after_s
            limited = error_response(
                429, "too_many_attempts", f"too many failed sign-ins; try again in {wait} s"
            )
            limited.headers["Retry-After"] = str(wait)
            return limited
        except SignInRefusedError:
            raise ApiError(401, "bad_credentials", "wrong login or password") from None
        except StoreUnavailableError:
            raise ApiError(503, "store_unavailable", "the store cannot be reached; try again") from None
        if earlier is not None:  # signing in again replaces the browser's session, it does not add one
            await book.sign_out(earlier)
        return with_session(ok(account_json(signed.account)), request, signed.session_id)

    async def who(request: web.Request) -> web.Response:
        session_id = cookie_of(request)
        account = await book.check(session_id) if session_id else None
        if account is None:
            raise no_session()
        return ok(account_json(account))

    async def sign_out(request: web.Request) -> web.StreamResponse:
        session_id = cookie_of(request)
        if session_id is not None:
            check_origin(request)
            await book.sign_out(session_id)
        response = web.Response(status=204)
        response.del_cookie(COOKIE, path="/", samesite="Strict", httponly=True)
        return response

    account_schema = {
        "200": {
            "description": "the signed-in person: login, employee_id, name, role, extension",
            "content": {"application/json": {}},
        },
        "401": {"description": "bad_credentials (sign in), or no session that still holds"},
        "403": {"description": "bad_origin: the Origin is not the daemon's own"},
    }
    return [
        Route(
            "POST",
            PATH,
            sign_in,
            "Sign in with an employee's login and password; sets the session cookie",
            {**account_schema, "429": {"description": "too many failed sign-ins (Retry-After)"}},
            request_body={
                "type": "object",
                "required": ["login", "password"],
                "properties": {"login": {"type": "string"}, "password": {"type": "string"}},
            },
            public=True,
            tag="session",
        ),
        Route(
            "GET", PATH, who, "Who is signed in (by the cookie)", account_schema, public=True, tag="session"
        ),
        Route(
            "DELETE",
            PATH,
            sign_out,
            "Sign out: the session ends on the server, the cookie no longer works",
            {"204": {"description": "signed out"}},
            public=True,
            tag="session",
        ),
    ]

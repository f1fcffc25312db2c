"""`POST /api/v1/session/password`: a signed-in person changes their own password from a page (the
current one asked again; `cti-daemon users set-password` stays the administrator's way). Every session
of theirs ends, on every browser; the one that asked gets a new session cookie and stays signed in."""

from __future__ import annotations

from aiohttp import web

from cti_daemon.api.errors import ApiError, bad_request, error_response
from cti_daemon.api.routes import Route, json_body, ok
from cti_daemon.api.session_book import SessionBook, SignInLimitedError, SignInRefusedError
from cti_daemon.api.sessions import PATH, account_json, cookie_of, no_session, with_session
from cti_daemon.api.web_security import check_origin, client_address
from cti_daemon.crm.store import StoreUnavailableError
from cti_daemon.passwords import MAX_PASSWORD_LENGTH, PasswordRefusedError


def routes(book: SessionBook) -> list[Route]:
    async def change_password(request: web.Request) -> web.Response:
        session_id = cookie_of(request)
        if session_id is None:
            raise no_session()
        check_origin(request)  # another site's page must not change it with the browser's cookie
        body = await json_body(request)
        current, new = body.get("current"), body.get("new")
        if not isinstance(current, str) or len(current) > MAX_PASSWORD_LENGTH:
            raise bad_request("current must be the password you sign in with", field="current")
        if not isinstance(new, str):
            raise bad_request("new must be text", field="new")
        try:
            signed = await book.change_password(session_id, current, new, client_address(request))
        except LookupError:
            raise no_session() from None
        except PasswordRefusedError as exc:
            raise ApiError(400, "password_refused", f"new password refused: {exc}", field="new") from None
        except SignInLimitedError as exc:
            wait = exc.retry_after_s
            limited = error_response(
                429, "too_many_attempts", f"too many wrong passwords; try again in {wait} s"
            )
            limited.headers["Retry-After"] = str(wait)
            return limited
        except SignInRefusedError:
            raise ApiError(403, "wrong_password", "the current password is wrong", field="current") from None
        except StoreUnavailableError:
            raise ApiError(503, "store_unavailable", "the store cannot be reached; try again") from None
        return with_session(ok(account_json(signed.account)), request, signed.session_id)

    return [
        Route(
            "POST",
            PATH + "/password",
            change_password,
            "Change the signed-in person's own password (the current one asked again); every session of "
            "theirs ends and this browser gets a new one (the cookie is set again)",
            {
                "200": {"description": "changed: the person, as GET /api/v1/session"},
                "400": {"description": "password_refused (field new: too short, control characters...)"},
                "401": {"description": "no session that still holds"},
                "403": {"description": "wrong_password (field current), or bad_origin"},
                "429": {"description": "too many wrong passwords (Retry-After)"},
            },
            request_body={
                "type": "object",
                "required": ["current", "new"],
                "properties": {"current": {"type": "string"}, "new": {"type": "string"}},
            },
            tag="session",  # not public: a signed-in person's (a service token is no person: 401)
        )
    ]

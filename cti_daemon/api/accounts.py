"""Accounts (admin only): who may sign in to the pages, their role and state, and what an administrator
changes without a shell on the daemon's machine: someone's role, disabling them (they leave), and a new
password for someone who forgot theirs. Each change ends that person's sessions on every browser.

`cti-daemon users ...` does the same on the machine (and creates accounts). No password or hash leaves
the store or reaches a log line: the answer says whether a password is set, nothing more. An
administrator does not demote or disable their own account here (409 `own_account`): a desk must not
lock itself out of its last admin by a click.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from cti_daemon import logs
from cti_daemon.api.errors import ApiError, bad_request, not_found
from cti_daemon.api.principal import Role, require
from cti_daemon.api.routes import Route, RouteHandler, json_body, ok, path_text
from cti_daemon.api.session_book import SessionBook
from cti_daemon.crm import accounts as store_accounts
from cti_daemon.crm.accounts import ROLES, Account
from cti_daemon.crm.store import Store, StoreUnavailableError
from cti_daemon.passwords import MAX_PASSWORD_LENGTH, PasswordRefusedError

log = logs.get("cti.api.accounts")

AccountSource = Callable[[], Awaitable[list[Account]]]
_CHANGEABLE = frozenset({"role", "disabled"})
_LOGIN = re.compile(r"[A-Za-z0-9._-]{1,64}")


def account_json(a: Account) -> dict[str, Any]:
    return {
        "login": a.login,
        "employee_id": a.employee_id,
        "name": a.name,
        "role": a.role,
        "extension": a.extension,
        "disabled": a.disabled,
        "password_set": a.has_password,
    }


def _unavailable(exc: StoreUnavailableError) -> ApiError:
    return ApiError(503, "store_unavailable", "the store is unavailable; try again")


def _change_of(body: dict[str, Any]) -> dict[str, Any]:
    unknown = sorted(set(body) - _CHANGEABLE)
    if unknown:
        raise bad_request(f"{unknown[0]} cannot be changed here (role, disabled)", field=unknown[0])
    if not body:
        raise bad_request("send role or disabled", field="role")
    if "role" in body and body["role"] not in ROLES:
        raise bad_request(f"role must be one of {', '.join(ROLES)}", field="role")
    if "disabled" in body and not isinstance(body["disabled"], bool):
        raise bad_request("disabled must be true or false", field="disabled")
    return body


def _new_account(body: dict[str, Any]) -> tuple[str, str, str]:
    unknown = sorted(set(body) - {"employee_id", "login", "role"})
    if unknown:
        raise bad_request(f"{unknown[0]} is not asked here (employee_id, login, role)", field=unknown[0])
    employee_id, login, role = body.get("employee_id"), body.get("login"), body.get("role", "employee")
    if not isinstance(employee_id, str) or not 0 < len(employee_id) <= 64:
        raise bad_request("employee_id must name an employee", field="employee_id")
    if not isinstance(login, str) or not _LOGIN.fullmatch(login):
        raise bad_request("login: 1 to 64 letters, digits, dots, dashes or underscores", field="login")
    if role not in ROLES:
        raise bad_request(f"role must be one of {', '.join(ROLES)}", field="role")
    return employee_id, login, str(role)


def _creating(store: Store) -> RouteHandler:
    """POST /api/v1/accounts: an employee without an account is given a login (admin)."""

    async def create(request: web.Request) -> web.Response:
        admin = require(request, Role.ADMIN)
        employee_id, login, role = _new_account(await json_body(request))
        try:
            account = await store_accounts.give_login(store, employee_id, login, role)
        except LookupError:
            raise not_found(f"no employee {employee_id}", field="employee_id") from None
        except store_accounts.LoginRefusedError as exc:
            raise ApiError(409, exc.code, str(exc), field=exc.field) from None
        except StoreUnavailableError as exc:
            raise _unavailable(exc) from exc
        log.info("account.created", login=login, employee_id=employee_id, role=role, by=admin.actor)
        return ok(account_json(account), status=201)

    return create


def routes(accounts: AccountSource, book: SessionBook, store: Store) -> list[Route]:
    async def listing(request: web.Request) -> web.Response:
        require(request, Role.ADMIN)
        try:
            found = await accounts()
        except StoreUnavailableError as exc:
            raise _unavailable(exc) from exc
        return ok({"accounts": [account_json(a) for a in found]})

    async def change(request: web.Request) -> web.Response:
        admin = require(request, Role.ADMIN)
        login = path_text(request, "login")
        wanted = _change_of(await json_body(request))
        demotes = wanted.get("role", Role.ADMIN.value) != Role.ADMIN.value or wanted.get("disabled") is True
        if admin.via == "session" and admin.actor == login and demotes:
            raise ApiError(
                409,
                "own_account",
                "you cannot take the admin role from your own account or disable it; another admin can",
                field="role" if "role" in wanted else "disabled",
            )
        try:
            changed = await store_accounts.change_account(
                store, login, role=wanted.get("role"), disabled=wanted.get("disabled")
            )
            account = await book.account(login) if changed else None
        except StoreUnavailableError as exc:
            raise _unavailable(exc) from exc
        if account is None:
            raise not_found(f"no account {login}", field="login")
        book.forget(login)
        log.info("account.changed", login=login, by=admin.actor, **wanted)
        return ok(account_json(account))

    async def set_password(request: web.Request) -> web.Response:
        admin = require(request, Role.ADMIN)
        login = path_text(request, "login")
        password = (await json_body(request)).get("password")
        if not isinstance(password, str) or len(password) > MAX_PASSWORD_LENGTH:
            raise bad_request("password must be text", field="password")
        try:
            account = await book.set_password(login, password)
        except PasswordRefusedError as exc:
            raise ApiError(400, "password_refused", f"password refused: {exc}", field="password") from None
        except StoreUnavailableError as exc:
            raise _unavailable(exc) from exc
        if account is None:
            raise not_found(f"no account {login}", field="login")
        log.info("account.password_set", login=login, by=admin.actor)
        return ok(account_json(account))

    return _documented(listing, _creating(store), change, set_password)


def _documented(
    listing: RouteHandler, create: RouteHandler, change: RouteHandler, set_password: RouteHandler
) -> list[Route]:
    return [
        Route(
            "GET",
            "/api/v1/accounts",
            listing,
            "Accounts (admin): login, employee, role, disabled, whether a password is set",
            {"200": {"description": "ok", "content": {"application/json": {}}}},
            tag="accounts",
        ),
        Route(
            "POST",
            "/api/v1/accounts",
            create,
            "Give an employee without an account a login (admin); a password is set next",
            {
                "201": {"description": "the account (password_set: false)"},
                "400": {"description": "a bad login, role or field (field names it)"},
                "404": {"description": "no such employee"},
                "409": {"description": "has_login (the employee has one) or login_taken"},
            },
            request_body={
                "type": "object",
                "required": ["employee_id", "login"],
                "properties": {
                    "employee_id": {"type": "string"},
                    "login": {"type": "string"},
                    "role": {"type": "string", "enum": list(ROLES)},
                },
            },
            tag="accounts",
        ),
        Route(
            "PATCH",
            "/api/v1/accounts/{login}",
            change,
            "Change someone's role or disable them (admin); their sessions end",
            {
                "200": {"description": "the account as changed"},
                "400": {"description": "an unknown field, a role that does not exist (field names it)"},
                "404": {"description": "no such login"},
                "409": {"description": "own_account: an admin demoting or disabling themselves"},
            },
            request_body={
                "type": "object",
                "properties": {
                    "role": {"type": "string", "enum": list(ROLES)},
                    "disabled": {"type": "boolean"},
                },
            },
            tag="accounts",
        ),
        Route(
            "POST",
            "/api/v1/accounts/{login}/password",
            set_password,
            "Set someone's password (admin; they forgot theirs): their sessions end",
            {
                "200": {"description": "the account (password_set: true)"},
                "400": {"description": "password_refused (field password: too short, control characters...)"},
                "404": {"description": "no such login"},
            },
            request_body={
                "type": "object",
                "required": ["password"],
                "properties": {"password": {"type": "string"}},
            },
            tag="accounts",
        ),
    ]

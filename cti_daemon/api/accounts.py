"""GET /api/v1/accounts — who may sign in to the pages, their role and state (admin only).

Accounts are changed with `cti-daemon users ...` on the daemon's machine; over HTTP they are only read.
No password hash leaves the store: the answer says whether a password is set, nothing more.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from cti_daemon.api.errors import ApiError
from cti_daemon.api.principal import Role, require
from cti_daemon.api.routes import Route, ok
from cti_daemon.crm.accounts import Account
from cti_daemon.crm.store import StoreUnavailableError

AccountSource = Callable[[], Awaitable[list[Account]]]


def routes(accounts: AccountSource) -> list[Route]:
    async def listing(request: web.Request) -> web.Response:
        require(request, Role.ADMIN)
        try:
            found = await accounts()
        except StoreUnavailableError as exc:
            raise ApiError(503, "store_unavailable", "the store is unavailable; try again") from exc
        return ok(
            {
                "accounts": [
                    {
                        "login": a.login,
                        "employee_id": a.employee_id,
                        "name": a.name,
                        "role": a.role,
                        "extension": a.extension,
                        "disabled": a.disabled,
                        "password_set": a.has_password,
                    }
                    for a in found
                ]
            }
        )

    return [
        Route(
            "GET",
            "/api/v1/accounts",
            listing,
            "Accounts (admin): login, employee, role, disabled, whether a password is set",
            {"200": {"description": "ok", "content": {"application/json": {}}}},
            tag="accounts",
        )
    ]

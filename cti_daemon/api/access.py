"""The roles' reach over the existing API, beside `principal.require` (which checks a role's rank).

An employee signed in reaches their own things only: their contacts and their purposes' (see
routing/visibility.py), their own line, click to dial from their own phone. Reception and admin (and
tokens, which are reception or admin) reach everything of the desk.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from cti_daemon.api.errors import ApiError
from cti_daemon.api.principal import Principal, Role, principal_of


def limited_to_own(request: web.Request) -> Principal | None:
    """The employee whose own things bound this request; None when the role reaches the whole desk."""
    principal = principal_of(request)
    if principal.role.covers(Role.RECEPTION):
        return None
    return principal


def not_yours(principal: Principal, what: str) -> ApiError:
    return ApiError(
        403,
        "forbidden",
        f"{what} is not yours: this needs the {Role.RECEPTION.value} role (you are {principal.role.value})",
    )


# What an employee may change on their contact: take it (a status, themselves responsible).
_TAKING = frozenset({"status", "responsible_employee_id", "version"})


def may_only_take(request: web.Request, change: dict[str, Any]) -> None:
    """A PATCH of a contact: an employee may take it; re-routing it (purpose, customer, someone else
    responsible) is the desk's."""
    own = limited_to_own(request)
    if own is None:
        return
    if set(change) - _TAKING or change.get("responsible_employee_id", own.employee_id) != own.employee_id:
        raise ApiError(
            403,
            "forbidden",
            "an employee may take a contact (its status, themselves responsible); anything else needs "
            f"the {Role.RECEPTION.value} role (you are {own.role.value})",
        )

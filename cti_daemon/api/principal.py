"""Who is asking: the principal behind a request, its role, and the checks every feature uses.

A request is made either with an API token (scripts, CRMs; a token line may name a role, admin by
default) or with a signed-in person's session (the browser pages). The auth middleware sets exactly one
`Principal` on the request; handlers ask `require(request, Role.RECEPTION)` and never look at cookies or
headers themselves, so the rule lives on the server whatever a page shows or hides.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

from aiohttp import web

from cti_daemon.api.errors import ApiError


class Role(StrEnum):
    """Ordered by reach: each role may do what the roles before it may (an admin is also reception)."""

    EMPLOYEE = "employee"
    RECEPTION = "reception"
    ADMIN = "admin"

    @property
    def rank(self) -> int:
        return _RANKS[self]

    def covers(self, needed: Role) -> bool:
        return self.rank >= needed.rank


_RANKS = {Role.EMPLOYEE: 0, Role.RECEPTION: 1, Role.ADMIN: 2}


@dataclass(frozen=True, slots=True)
class Principal:
    actor: str  # the name the journal records: a token's name, or a person's login
    role: Role
    employee_id: str | None  # the signed-in employee; None for a token
    via: Literal["token", "session"]


PRINCIPAL = web.RequestKey("principal", Principal)


def principal_of(request: web.Request) -> Principal:
    found: Principal | None = request.get(PRINCIPAL)
    if found is None:
        raise ApiError(401, "unauthorized", "sign in or send Authorization: Bearer <token>")
    return found


def require(request: web.Request, needed: Role) -> Principal:
    """The request's principal when its role reaches `needed`; 403 naming the role otherwise."""
    principal = principal_of(request)
    if not principal.role.covers(needed):
        raise ApiError(
            403, "forbidden", f"this needs the {needed.value} role (you are {principal.role.value})"
        )
    return principal

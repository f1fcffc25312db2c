"""Who may see which message on the stream: the one place the role filter is decided.

A viewer who sees the whole desk (reception, admin, an API token) gets everything. An employee gets what
everybody sees (lines, presence, the daemon's state), their own pops and notifications, calls at their own
extension, and the contacts that are theirs: assigned or postponed to them, or waiting in one of their
purposes' groups. Pure: data in, a yes or no out.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

Kind = Literal["everyone", "personal", "call", "contact"]


@dataclass(frozen=True, slots=True)
class Viewer:
    employee_id: str | None
    sees_all: bool  # reception, admin, tokens
    extension: str | None = None
    purposes: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class Audience:
    kind: Kind
    employee_id: str | None = None  # personal: whose pop or notification
    extensions: frozenset[str] = frozenset()  # call: the extensions it rings or talks at


def may_see(viewer: Viewer, audience: Audience, payload: Mapping[str, Any]) -> bool:
    if audience.kind == "everyone" or viewer.sees_all:
        return True
    if audience.kind == "personal":
        return viewer.employee_id is not None and audience.employee_id == viewer.employee_id
    if audience.kind == "call":
        return viewer.extension is not None and viewer.extension in audience.extensions
    return contact_is_theirs(viewer, payload)


def contact_is_theirs(viewer: Viewer, contact: Mapping[str, Any]) -> bool:
    me = viewer.employee_id
    if me is None:
        return viewer.sees_all
    postponed = contact.get("postponed") or {}
    if contact.get("responsible_employee_id") == me or postponed.get("to") == me:
        return True
    group = contact.get("purpose_group")
    return contact.get("responsible_employee_id") is None and group is not None and group in viewer.purposes

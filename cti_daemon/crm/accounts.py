"""Accounts (an employee's sign-in: login, password hash, role, disabled) and their sessions in the store.

Sessions live in the store so that a restart and a second node keep them. A session row is found by the
SHA-256 digest of the cookie's id; the id itself is never stored.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import delete, or_, select, update
from sqlalchemy.exc import IntegrityError

from cti_daemon.crm.models import Employee, WebSession
from cti_daemon.crm.store import Store

ROLES = ("employee", "reception", "admin")


@dataclass(frozen=True, slots=True)
class Account:
    employee_id: str
    login: str
    name: str
    role: str
    extension: str | None
    disabled: bool
    has_password: bool


@dataclass(frozen=True, slots=True)
class SessionRow:
    employee_id: str
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime


def _account(e: Employee) -> Account:
    return Account(e.id, e.login or "", e.name, e.role, e.extension, e.disabled, e.password_hash is not None)


def _aware(value: datetime) -> datetime:
    # SQLite hands back naive datetimes even for timezone=True columns; everything is stored in UTC.
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


async def list_accounts(store: Store) -> list[Account]:
    async with store.session() as session:
        rows = (
            await session.scalars(
                select(Employee).where(Employee.login.is_not(None)).order_by(Employee.login)
            )
        ).all()
    return [_account(e) for e in rows]


class LoginRefusedError(Exception):
    """Why an employee cannot be given this login: `code` and `field` say it to the API."""

    def __init__(self, code: str, field: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.field = field


async def give_login(store: Store, employee_id: str, login: str, role: str) -> Account:
    """An employee without an account gets one (no password yet: they cannot sign in until one is set).
    Raises LookupError for no such employee, LoginRefusedError when they have a login or it is taken."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}")
    async with store.session() as session, session.begin():
        employee = await session.get(Employee, employee_id)
        if employee is None:
            raise LookupError(employee_id)
        if employee.login is not None:
            raise LoginRefusedError("has_login", "employee_id", f"{employee_id} signs in as {employee.login}")
        if await session.scalar(select(Employee.id).where(Employee.login == login)) is not None:
            raise LoginRefusedError("login_taken", "login", f"the login {login} is someone else's")
        employee.login, employee.role, employee.disabled = login, role, False
        employee.password_hash = None
        try:
            await session.flush()
        except IntegrityError:  # the same login given at the same moment by another request
            raise LoginRefusedError("login_taken", "login", f"the login {login} is someone else's") from None
        return _account(employee)


async def account_for_sign_in(store: Store, login: str) -> tuple[Account, str | None] | None:
    """The account with this login and its password hash (None: no password set yet)."""
    async with store.session() as session:
        found = await session.scalar(select(Employee).where(Employee.login == login))
    return None if found is None else (_account(found), found.password_hash)


async def set_password_hash(store: Store, login: str, password_hash: str) -> bool:
    """False when no employee has this login. The account's sessions end: the old password's are void."""
    return await _change(store, login, password_hash=password_hash)


async def set_role(store: Store, login: str, role: str) -> bool:
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}")
    return await _change(store, login, role=role)


async def set_disabled(store: Store, login: str, disabled: bool = True) -> bool:
    return await _change(store, login, disabled=disabled)


async def change_account(store: Store, login: str, *, role: str | None, disabled: bool | None) -> bool:
    """A role and/or the disabled flag, in one transaction; False when no employee has this login."""
    if role is not None and role not in ROLES:
        raise ValueError(f"unknown role {role!r}")
    values = {k: v for k, v in (("role", role), ("disabled", disabled)) if v is not None}
    return await _change(store, login, **values)


async def _change(store: Store, login: str, **values: object) -> bool:
    async with store.session() as session, session.begin():
        employee_id = await session.scalar(select(Employee.id).where(Employee.login == login))
        if employee_id is None:
            return False
        await session.execute(update(Employee).where(Employee.id == employee_id).values(**values))
        # A new password, role or a disabled account: the sessions made before it no longer hold.
        await session.execute(delete(WebSession).where(WebSession.employee_id == employee_id))
    return True


async def add_session(
    store: Store, digest: str, employee_id: str, now: datetime, expires_at: datetime
) -> None:
    async with store.session() as session, session.begin():
        session.add(
            WebSession(
                id_digest=digest,
                employee_id=employee_id,
                created_at=now,
                last_seen_at=now,
                expires_at=expires_at,
            )
        )


async def find_session(store: Store, digest: str) -> tuple[SessionRow, Account] | None:
    async with store.session() as session:
        row = (
            await session.execute(
                select(WebSession, Employee)
                .join(Employee, Employee.id == WebSession.employee_id)
                .where(WebSession.id_digest == digest)
            )
        ).first()
    if row is None:
        return None
    found, employee = row
    times = SessionRow(
        found.employee_id, _aware(found.created_at), _aware(found.last_seen_at), _aware(found.expires_at)
    )
    return times, _account(employee)


async def touch_session(store: Store, digest: str, now: datetime) -> None:
    async with store.session() as session, session.begin():
        await session.execute(
            update(WebSession).where(WebSession.id_digest == digest).values(last_seen_at=now)
        )


async def end_sessions(store: Store, digests: list[str]) -> None:
    if not digests:
        return
    async with store.session() as session, session.begin():
        await session.execute(delete(WebSession).where(WebSession.id_digest.in_(digests)))


async def drop_expired(store: Store, now: datetime, idle_since: datetime) -> None:
    """Rows past their absolute end or idle longer than allowed: nobody can use them any more."""
    async with store.session() as session, session.begin():
        await session.execute(
            delete(WebSession).where(or_(WebSession.expires_at <= now, WebSession.last_seen_at <= idle_since))
        )

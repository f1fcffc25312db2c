"""Signing in and out, and which session ids still hold: the rules, with the store behind them.

The store is asked on every check, so a sign-out or a disabled account on another node ends the session
here too. When the store cannot be reached, a session this process has already checked is kept for its
idle time (a store outage signs nobody out); a session never seen here waits for the store. A sign-out
during an outage is refused locally at once and deleted from the store when it answers again.
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from cti_daemon import logs, passwords
from cti_daemon.api.signin_limits import SignInLimits
from cti_daemon.crm import accounts
from cti_daemon.crm.accounts import Account
from cti_daemon.crm.store import Store, StoreError, StoreUnavailableError

log = logs.get("cti.api.sessions")

MAX_KNOWN = 50_000  # sessions remembered for an outage; the oldest checked are forgotten first


class SignInRefusedError(Exception):
    """Wrong password, unknown login, no password set or a disabled account: one answer for all."""


class SignInLimitedError(Exception):
    def __init__(self, retry_after_s: int) -> None:
        super().__init__(f"retry after {retry_after_s} s")
        self.retry_after_s = retry_after_s


@dataclass(frozen=True, slots=True)
class SignedIn:
    session_id: str  # goes into the cookie and nowhere else
    account: Account


@dataclass(slots=True)
class _Known:
    account: Account
    last_seen: datetime
    expires_at: datetime


def digest_of(session_id: str) -> str:
    return hashlib.sha256(session_id.encode("utf-8")).hexdigest()


class SessionBook:
    def __init__(
        self,
        store: Store,
        *,
        idle_s: float,
        max_s: float,
        limits: SignInLimits,
        clock: Callable[[], datetime],
        verify_concurrency: int = 2,
    ) -> None:
        self._store = store
        self._idle = timedelta(seconds=idle_s)
        self._max = timedelta(seconds=max_s)
        self._touch_every = timedelta(seconds=min(60.0, idle_s / 10))
        self.limits = limits
        self._clock = clock
        self._known: dict[str, _Known] = {}
        self._ended: set[str] = set()  # signed out while the store was away
        # Each Argon2 verification takes ~64 MiB and a core for tens of ms: a burst of sign-ins waits
        # its turn instead of taking the memory and the event loop's CPU from the ring path.
        self._verifying = asyncio.Semaphore(verify_concurrency)

    async def sign_in(self, login: str, password: str, address: str) -> SignedIn:
        """Raises SignInLimitedError, SignInRefusedError, or StoreUnavailableError."""
        wait = self.limits.retry_after(login, address)
        if wait is not None:
            log.warning("session.signin_limited", login=login, address=address, retry_after_s=wait)
            raise SignInLimitedError(wait)
        found = await accounts.account_for_sign_in(self._store, login)
        account, stored = found if found is not None else (None, None)
        matches = await self._verify(stored, password)
        reason = _refusal(account, stored, matches)
        if reason is not None or account is None:
            self.limits.failed(login, address)
            log.warning("session.signin_refused", login=login, address=address, reason=reason)
            raise SignInRefusedError
        self.limits.succeeded(login)
        return await self._open(account, address)

    async def change_password(self, session_id: str, current: str, new: str, address: str) -> SignedIn:
        """The signed-in person's own password: `current` must be theirs (a wrong one counts against the
        sign-in limits, as a sign-in would). Every session of theirs ends; this browser gets a new one.
        Raises SignInLimitedError, SignInRefusedError, PasswordRefusedError, StoreUnavailableError, or
        LookupError when the session no longer holds."""
        account = await self.check(session_id)
        if account is None:
            raise LookupError("no session")
        login = account.login
        wait = self.limits.retry_after(login, address)
        if wait is not None:
            log.warning("session.password_change_limited", login=login, address=address, retry_after_s=wait)
            raise SignInLimitedError(wait)
        passwords.check_new(new)
        found = await accounts.account_for_sign_in(self._store, login)
        if found is None or not await self._verify(found[1], current):
            self.limits.failed(login, address)
            log.warning("session.password_change_refused", login=login, address=address)
            raise SignInRefusedError
        async with self._verifying:  # hashing costs what a verification does
            new_hash = await asyncio.to_thread(passwords.hash_password, new)
        await accounts.set_password_hash(self._store, login, new_hash)  # ends every session of theirs
        self.forget(login)
        self.limits.succeeded(login)
        log.info("session.password_changed", login=login, address=address)
        return await self._open(found[0], address)

    async def set_password(self, login: str, new: str) -> Account | None:
        """An administrator sets someone's password (they forgot theirs): every session of that person
        ends. None when no account has this login. Raises PasswordRefusedError, StoreUnavailableError."""
        passwords.check_new(new)
        async with self._verifying:  # hashing costs what a verification does
            new_hash = await asyncio.to_thread(passwords.hash_password, new)
        if not await accounts.set_password_hash(self._store, login, new_hash):
            return None
        self.forget(login)
        self.limits.succeeded(login)  # a person locked out by wrong guesses may sign in with the new one
        return await self.account(login)

    async def account(self, login: str) -> Account | None:
        found = await accounts.account_for_sign_in(self._store, login)
        return None if found is None else found[0]

    def forget(self, login: str) -> None:
        """The store ended this person's sessions (a new password, role, or a disabled account): the ones
        remembered here for a store outage end too."""
        for digest in [d for d, known in self._known.items() if known.account.login == login]:
            del self._known[digest]

    async def _open(self, account: Account, address: str) -> SignedIn:
        now = self._clock()
        session_id = secrets.token_urlsafe(32)
        digest = digest_of(session_id)
        await accounts.drop_expired(self._store, now, now - self._idle)
        await accounts.add_session(self._store, digest, account.employee_id, now, now + self._max)
        self._remember(digest, _Known(account, now, now + self._max))
        log.info("session.signed_in", login=account.login, role=account.role, address=address)
        return SignedIn(session_id, account)

    async def _verify(self, stored: str | None, password: str) -> bool:
        # Unknown logins and accounts without a password cost one verification too (against a dummy).
        async with self._verifying:
            target = stored if stored is not None else await asyncio.to_thread(passwords.dummy_hash)
            matches = await asyncio.to_thread(passwords.verify, target, password)
        return matches and stored is not None

    async def check(self, session_id: str) -> Account | None:
        """The account this session id belongs to while it holds; None otherwise."""
        digest = digest_of(session_id)
        if digest in self._ended:
            return None
        now = self._clock()
        try:
            found = await accounts.find_session(self._store, digest)
            await self._flush_ended()
        except StoreUnavailableError as exc:
            return self._while_away(digest, now, str(exc))
        if found is None:
            self._known.pop(digest, None)
            return None
        row, account = found
        if account.disabled or now >= row.expires_at or now - row.last_seen_at >= self._idle:
            self._known.pop(digest, None)
            return None
        if now - row.last_seen_at >= self._touch_every:
            try:
                await accounts.touch_session(self._store, digest, now)
            except StoreError as exc:
                log.warning("session.touch_failed", reason=str(exc))
        self._remember(digest, _Known(account, now, row.expires_at))
        return account

    def _while_away(self, digest: str, now: datetime, reason: str) -> Account | None:
        known = self._known.get(digest)
        if known is None or now >= known.expires_at or now - known.last_seen >= self._idle:
            log.warning("session.unchecked", reason=reason, effect="sign in again once the store is back")
            return None
        known.last_seen = now
        return known.account

    async def sign_out(self, session_id: str) -> None:
        digest = digest_of(session_id)
        known = self._known.pop(digest, None)
        try:
            await accounts.end_sessions(self._store, [digest])
        except StoreUnavailableError as exc:
            self._ended.add(digest)
            log.warning("session.end_deferred", reason=str(exc), effect="ended here; the store forgets later")
        log.info("session.signed_out", login=known.account.login if known else None)

    async def _flush_ended(self) -> None:
        if self._ended:
            ended = list(self._ended)
            await accounts.end_sessions(self._store, ended)
            self._ended.difference_update(ended)

    def _remember(self, digest: str, known: _Known) -> None:
        self._known.pop(digest, None)
        self._known[digest] = known
        while len(self._known) > MAX_KNOWN:
            del self._known[next(iter(self._known))]


def _refusal(account: Account | None, stored: str | None, matches: bool) -> str | None:
    if account is None:
        return "unknown_login"
    if stored is None:
        return "no_password"
    if not matches:
        return "wrong_password"
    if account.disabled:
        return "disabled"
    return None

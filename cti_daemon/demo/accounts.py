"""The demo's sign-ins: reception and each seeded employee get a password generated now, printed once.

Only Argon2id hashes reach the (temporary) demo store, as with `cti-daemon users set-password`, but with
light parameters: these passwords are printed on the screen and the store is deleted at the end, and the
production cost (64 MiB, ~0.1-0.7 s each) would hold the demo's first pop back by seconds.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Collection
from dataclasses import dataclass

from argon2 import PasswordHasher

from cti_daemon import passwords
from cti_daemon.crm import accounts
from cti_daemon.crm.store import Store

DEMO_HASHER = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1)  # Argon2id, 8 MiB


def demo_hash(password: str) -> str:
    passwords.check_new(password)
    return DEMO_HASHER.hash(password)


@dataclass(frozen=True, slots=True)
class DemoSignIn:
    login: str
    password: str
    role: str

    def line(self, port: int) -> str:
        where = f"console: http://127.0.0.1:{port}/"
        return f"{where}  login: {self.login}  password: {self.password}  ({self.role})"


async def make_sign_ins(store: Store, reception_extensions: Collection[str]) -> list[DemoSignIn]:
    """Reception first (whoever sits at a reception extension), then the employees, by login."""
    made: list[DemoSignIn] = []
    for account in await accounts.list_accounts(store):
        role = "reception" if account.extension in reception_extensions else "employee"
        password = secrets.token_urlsafe(12)  # 16 characters, about 96 bits
        hashed = await asyncio.to_thread(demo_hash, password)
        await accounts.set_password_hash(store, account.login, hashed)
        await accounts.set_role(store, account.login, role)
        made.append(DemoSignIn(account.login, password, role))
    return sorted(made, key=lambda s: (s.role != "reception", s.login))

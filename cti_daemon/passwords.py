"""Passwords of the people who sign in: Argon2id hashes only (argon2-cffi), never the password itself.

The hash string carries its own parameters and salt, so `verify` keeps working for hashes made with
older parameters. A sign-in for an unknown login is verified against `dummy_hash()` so that it costs
the same time as a wrong password: the answer and its timing say nothing about which logins exist.
"""

from __future__ import annotations

import functools

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 1024  # Argon2 hashes any length; a bound keeps a sign-in's cost bounded too

_HASHER = PasswordHasher()  # Argon2id with RFC 9106's low-memory parameters (argon2-cffi's default)


class PasswordRefusedError(ValueError):
    """A new password that is not accepted; the message says why without repeating it."""


def check_new(password: str) -> None:
    if not password.strip():
        raise PasswordRefusedError("the password is empty")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise PasswordRefusedError(f"the password is shorter than {MIN_PASSWORD_LENGTH} characters")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise PasswordRefusedError(f"the password is longer than {MAX_PASSWORD_LENGTH} characters")
    if any(ord(c) < 32 for c in password):
        raise PasswordRefusedError("the password contains control characters")


def hash_password(password: str) -> str:
    check_new(password)
    return _HASHER.hash(password)


def verify(stored_hash: str, password: str) -> bool:
    """True when `password` matches; False for a mismatch or a hash that is not ours (never raises)."""
    try:
        return _HASHER.verify(stored_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


@functools.cache
def dummy_hash() -> str:
    """A hash of a random throwaway with the current parameters (made once per process)."""
    import secrets  # noqa: PLC0415 - only needed here

    return _HASHER.hash(secrets.token_urlsafe(24))

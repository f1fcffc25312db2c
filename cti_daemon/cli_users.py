"""`cti-daemon users ...`: who may sign in to the pages, with which password and role.

A password is read from the terminal (getpass, asked twice) or, when stdin is not a terminal, from its
first line; never from an argument, where `ps` and the shell's history would show it. Only its Argon2id
hash reaches the store; the password is in no output and no log line.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from cti_daemon import passwords
from cti_daemon.config import Config

if TYPE_CHECKING:
    from cti_daemon.crm.accounts import Account

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
# crm.accounts.ROLES (a test holds them equal): the store's modules load only when a users command runs,
# so building the parser for `check-config` stays fast.
ROLE_CHOICES = ("employee", "reception", "admin")


def add_parser(sub: Any, parser_class: type[argparse.ArgumentParser]) -> None:
    """`sub`: the main parser's subparsers (argparse names its type privately)."""
    users = sub.add_parser("users", help="sign-ins to the pages: passwords, roles, disabling")
    users_sub = users.add_subparsers(dest="users_command", required=True, parser_class=parser_class)
    setpw = users_sub.add_parser(
        "set-password",
        help="set LOGIN's password: typed twice at the terminal, or the first line of stdin when piped; "
        f"at least {passwords.MIN_PASSWORD_LENGTH} characters; the person's sessions end",
    )
    setpw.add_argument("login")
    users_sub.add_parser("list", help="every employee with a login: role, and whether they can sign in")
    disable = users_sub.add_parser("disable", help="LOGIN can no longer sign in; their sessions end at once")
    disable.add_argument("login")
    enable = users_sub.add_parser("enable", help="undo `users disable`")
    enable.add_argument("login")
    role = users_sub.add_parser("role", help="set LOGIN's role; their sessions end (sign in again)")
    role.add_argument("login")
    role.add_argument("role", choices=list(ROLE_CHOICES))
    for each in (setpw, disable, enable, role, users_sub.choices["list"]):
        each.add_argument("--config", type=Path)


def read_new_password(login: str, stdin: TextIO, err: TextIO) -> str | None:
    """The new password, or None (with the reason on `err`) when it is refused or the two differ."""
    if stdin.isatty():
        first = getpass.getpass(f"New password for {login}: ")
        second = getpass.getpass("Again: ")
        if first != second:
            err.write("users set-password: the two passwords differ; nothing changed\n")
            return None
        given = first
    else:
        given = stdin.readline().rstrip("\r\n")
    try:
        passwords.check_new(given)
    except passwords.PasswordRefusedError as exc:
        err.write(f"users set-password: {exc}; nothing changed\n")
        return None
    return given


def run(args: argparse.Namespace, cfg: Config, stdin: TextIO, out: TextIO, err: TextIO) -> int:
    from cti_daemon.crm.store import StoreError  # noqa: PLC0415 - see ROLE_CHOICES

    command = args.users_command
    password_hash: str | None = None
    if command == "set-password":
        given = read_new_password(args.login, stdin, err)
        if given is None:
            return EXIT_USAGE
        password_hash = passwords.hash_password(given)
        del given
    try:
        return asyncio.run(_act(args, cfg, password_hash, out, err))
    except (StoreError, OSError) as exc:
        err.write(f"users {command}: cannot reach the database: {exc}\n")
        return EXIT_FAILED


async def _act(
    args: argparse.Namespace, cfg: Config, password_hash: str | None, out: TextIO, err: TextIO
) -> int:
    from cti_daemon.crm import accounts  # noqa: PLC0415 - see ROLE_CHOICES
    from cti_daemon.crm.store import open_store  # noqa: PLC0415

    store = open_store(cfg.database.url)
    try:
        command = args.users_command
        if command == "list":
            _print_accounts(await accounts.list_accounts(store), out)
            return EXIT_OK
        if command == "set-password":
            assert password_hash is not None
            changed = await accounts.set_password_hash(store, args.login, password_hash)
            done = f"password set for {args.login}; their sessions ended"
        elif command in ("disable", "enable"):
            changed = await accounts.set_disabled(store, args.login, command == "disable")
            done = f"{args.login} {command}d" + ("; their sessions ended" if command == "disable" else "")
        else:
            changed = await accounts.set_role(store, args.login, args.role)
            done = f"{args.login} is now {args.role}; their sessions ended"
        if not changed:
            err.write(f"users {command}: no employee has the login {args.login!r} (see `users list`)\n")
            return EXIT_FAILED
        out.write(f"users {command}: {done}\n")
        return EXIT_OK
    finally:
        await store.dispose()


def _print_accounts(found: list[Account], out: TextIO) -> None:
    out.write(f"{'LOGIN':<20} {'EMPLOYEE':<12} {'ROLE':<10} {'EXT':<6} {'SIGN-IN':<12} NAME\n")
    for a in found:
        state = "disabled" if a.disabled else ("yes" if a.has_password else "no password")
        ext = a.extension or "-"
        out.write(f"{a.login:<20} {a.employee_id:<12} {a.role:<10} {ext:<6} {state:<12} {a.name}\n")

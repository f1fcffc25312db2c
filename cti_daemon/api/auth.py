"""Who is calling: a bearer token (scripts, CRMs) or a signed-in person's session cookie (the pages).

The tokens file has one `name:token` per line, or `name:token:role` (role `reception` or `admin`; a line
without one is admin, as before roles existed); blank lines and lines starting with # are ignored. Tokens
are compared in constant time against every entry (no early exit that would tell how many characters
matched, or which entry), and never appear in a log line or an error message: problems in the file name
the line number only.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web

from cti_daemon import logs
from cti_daemon.api.errors import ApiError, Handler
from cti_daemon.api.principal import PRINCIPAL, Principal, Role
from cti_daemon.api.routes import ACTOR
from cti_daemon.api.sessions import COOKIE as COOKIE_NAME
from cti_daemon.api.sessions import session_principal

log = logs.get("cti.api.auth")

MIN_TOKEN_LENGTH = 16
_NAME = re.compile(r"^[A-Za-z0-9_.@-]{1,64}$")
PUBLIC_PATHS = web.AppKey("public_paths", frozenset[str])
# The aiohttp routes of `Route(public=True)`: matched per route, so /static/{path} can be public too.
PUBLIC_ROUTES = web.AppKey("public_routes", frozenset[web.AbstractRoute])
TOKEN_ROLES = (Role.RECEPTION, Role.ADMIN)  # a token acts for no employee, so never as one
_ROLE_WORD = re.compile(r"^[a-z]{1,16}$")


class TokenFileError(Exception):
    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass(frozen=True, slots=True)
class _Entry:
    name: str
    digest: bytes
    role: Role


class TokenBook:
    """Token names and digests. Comparing fixed-length digests keeps the comparison constant-time even
    when the presented token's length differs from the stored one."""

    def __init__(self, tokens: dict[str, str], roles: Mapping[str, Role] | None = None) -> None:
        given = roles or {}
        self._entries = [
            _Entry(name, _digest(token), given.get(name, Role.ADMIN)) for name, token in tokens.items()
        ]

    def __len__(self) -> int:
        return len(self._entries)

    def names(self) -> frozenset[str]:
        return frozenset(entry.name for entry in self._entries)

    def take(self, other: TokenBook) -> None:
        """Serve `other`'s tokens from now on (a reload): one assignment, so a request checked meanwhile
        sees the old set or the new one, never a mix."""
        self._entries = other._entries

    def actor_for(self, presented: str) -> str | None:
        found = self.principal_for(presented)
        return found.actor if found is not None else None

    def principal_for(self, presented: str) -> Principal | None:
        digest = _digest(presented)
        found: _Entry | None = None
        for entry in self._entries:
            if hmac.compare_digest(entry.digest, digest):
                found = entry
        return None if found is None else Principal(found.name, found.role, None, "token")

    @classmethod
    def load(cls, path: str | Path) -> TokenBook:
        lines = _parse(Path(path).read_text(encoding="utf-8"), str(path))
        return cls({n: t for n, (t, _) in lines.items()}, {n: r for n, (_, r) in lines.items()})


TOKENS = web.AppKey("tokens", TokenBook)


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8")).digest()


def parse_tokens(text: str, source: str = "tokens file") -> dict[str, str]:
    """`name:token[:role]` lines into name -> token; TokenFileError lists every bad line (by number,
    never by content)."""
    return {name: token for name, (token, _) in _parse(text, source).items()}


def _split_role(rest: str) -> tuple[str, Role | None, str | None]:
    """token, role, problem. A trailing `:word` is a role; tokens made by the README's recipe have no ':'."""
    token, sep, word = rest.rpartition(":")
    word = word.strip()
    if not sep or not _ROLE_WORD.match(word):
        return rest, Role.ADMIN, None
    if word not in {r.value for r in TOKEN_ROLES}:
        return token, None, f"the role must be {' or '.join(r.value for r in TOKEN_ROLES)}, not {word!r}"
    return token, Role(word), None


def _parse(text: str, source: str) -> dict[str, tuple[str, Role]]:
    tokens: dict[str, tuple[str, Role]] = {}
    problems: list[str] = []
    seen: set[str] = set()
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        name, sep, rest = stripped.partition(":")
        token, role, bad_role = _split_role(rest)
        name, token = name.strip(), token.strip()
        where = f"{source} line {number}"
        if not sep:
            problems.append(f"{where}: expected name:token or name:token:role")
        elif bad_role is not None or role is None:
            problems.append(f"{where}: {bad_role}")
        elif not _NAME.match(name):
            problems.append(f"{where}: the name must be 1-64 letters, digits or _.@-")
        elif name in tokens:
            problems.append(f"{where}: the name {name!r} is already used")
        elif len(token) < MIN_TOKEN_LENGTH:
            problems.append(f"{where}: the token of {name!r} is shorter than {MIN_TOKEN_LENGTH} characters")
        elif token in seen:
            problems.append(f"{where}: the token of {name!r} is also another name's token")
        else:
            tokens[name] = (token, role)
            seen.add(token)
    if problems:
        raise TokenFileError(problems)
    return tokens


@web.middleware
async def auth_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.match_info.route in request.app[PUBLIC_ROUTES]:
        return await handler(request)
    header = request.headers.get("Authorization", "")
    if not header and COOKIE_NAME in request.cookies:
        # The browser's pages: the session cookie, with the Origin check on state changes (CSRF).
        if await session_principal(request) is None:
            raise ApiError(401, "unauthorized", "not signed in (or the session has ended): sign in again")
        return await handler(request)
    scheme, _, presented = header.partition(" ")
    if scheme.lower() != "bearer" or not presented.strip():
        raise ApiError(401, "unauthorized", "sign in, or send Authorization: Bearer <token>")
    principal = request.app[TOKENS].principal_for(presented.strip())
    if principal is None:
        log.warning("api.token_refused", method=request.method, path=request.path, peer=request.remote)
        raise ApiError(401, "unauthorized", "unknown token")
    request[ACTOR] = principal.actor
    request[PRINCIPAL] = principal
    return await handler(request)

"""Bearer tokens: who may call the API, and under which name (the actor the journal records).

The tokens file has one `name:token` per line; blank lines and lines starting with # are ignored. Tokens
are compared in constant time against every entry (no early exit that would tell how many characters
matched, or which entry), and never appear in a log line or an error message: problems in the file name
the line number only.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web

from cti_daemon import logs
from cti_daemon.api.errors import ApiError, Handler
from cti_daemon.api.principal import PRINCIPAL, Principal, Role
from cti_daemon.api.routes import ACTOR

log = logs.get("cti.api.auth")

MIN_TOKEN_LENGTH = 16
_NAME = re.compile(r"^[A-Za-z0-9_.@-]{1,64}$")
PUBLIC_PATHS = web.AppKey("public_paths", frozenset[str])


class TokenFileError(Exception):
    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass(frozen=True, slots=True)
class _Entry:
    name: str
    digest: bytes


class TokenBook:
    """Token names and digests. Comparing fixed-length digests keeps the comparison constant-time even
    when the presented token's length differs from the stored one."""

    def __init__(self, tokens: dict[str, str]) -> None:
        self._entries = [_Entry(name, _digest(token)) for name, token in tokens.items()]

    def __len__(self) -> int:
        return len(self._entries)

    def names(self) -> frozenset[str]:
        return frozenset(entry.name for entry in self._entries)

    def take(self, other: TokenBook) -> None:
        """Serve `other`'s tokens from now on (a reload): one assignment, so a request checked meanwhile
        sees the old set or the new one, never a mix."""
        self._entries = other._entries

    def actor_for(self, presented: str) -> str | None:
        digest = _digest(presented)
        found: str | None = None
        for entry in self._entries:
            if hmac.compare_digest(entry.digest, digest):
                found = entry.name
        return found

    @classmethod
    def load(cls, path: str | Path) -> TokenBook:
        return cls(parse_tokens(Path(path).read_text(encoding="utf-8"), str(path)))


TOKENS = web.AppKey("tokens", TokenBook)


def _digest(token: str) -> bytes:
    # aiohttp decodes header bytes that are not UTF-8 as surrogate escapes; they are a wrong token (401),
    # not an encoding error (500).
    return hashlib.sha256(token.encode("utf-8", "surrogateescape")).digest()


def parse_tokens(text: str, source: str = "tokens file") -> dict[str, str]:
    """`name:token` lines into a dict; TokenFileError lists every bad line (by number, never by content)."""
    tokens: dict[str, str] = {}
    problems: list[str] = []
    seen: set[str] = set()
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        name, sep, token = stripped.partition(":")
        name, token = name.strip(), token.strip()
        where = f"{source} line {number}"
        if not sep:
            problems.append(f"{where}: expected name:token")
        elif not _NAME.match(name):
            problems.append(f"{where}: the name must be 1-64 letters, digits or _.@-")
        elif name in tokens:
            problems.append(f"{where}: the name {name!r} is already used")
        elif len(token) < MIN_TOKEN_LENGTH:
            problems.append(f"{where}: the token of {name!r} is shorter than {MIN_TOKEN_LENGTH} characters")
        elif token in seen:
            problems.append(f"{where}: the token of {name!r} is also another name's token")
        else:
            tokens[name] = token
            seen.add(token)
    if problems:
        raise TokenFileError(problems)
    return tokens


@web.middleware
async def auth_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.path in request.app[PUBLIC_PATHS]:
        return await handler(request)
    header = request.headers.get("Authorization", "")
    scheme, _, presented = header.partition(" ")
    if scheme.lower() != "bearer" or not presented.strip():
        raise ApiError(401, "unauthorized", "send Authorization: Bearer <token>")
    actor = request.app[TOKENS].actor_for(presented.strip())
    if actor is None:
        log.warning("api.token_refused", method=request.method, path=request.path, peer=request.remote)
        raise ApiError(401, "unauthorized", "unknown token")
    request[ACTOR] = actor
    # Tokens are for scripts and CRMs and reach everything, as before roles existed.
    request[PRINCIPAL] = Principal(actor=actor, role=Role.ADMIN, employee_id=None, via="token")
    return await handler(request)

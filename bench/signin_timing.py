"""How long a refused sign-in takes: a wrong password for a real login beside an unknown login, through
`SessionBook.sign_in` on a seeded SQLite store with the production Argon2id parameters.

Both should cost one Argon2 verification (the unknown login's against a dummy hash), so the ratio of the
medians stays near 1: the answer's time does not tell which logins exist. Alternated, one after the other,
so machine load affects both alike. Run: `.venv/bin/python bench/signin_timing.py [--rounds N]`.
The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from cti_daemon import logs, passwords  # noqa: E402
from cti_daemon.api.session_book import SessionBook, SignInRefusedError  # noqa: E402
from cti_daemon.api.signin_limits import SignInLimits  # noqa: E402
from cti_daemon.crm import accounts  # noqa: E402
from cti_daemon.crm.seed import seed_demo  # noqa: E402
from cti_daemon.crm.store import open_store  # noqa: E402


async def _refused_ms(book: SessionBook, login: str) -> float:
    started = time.perf_counter()
    with contextlib.suppress(SignInRefusedError):
        await book.sign_in(login, "not-the-password-1", "198.51.100.1")
    return (time.perf_counter() - started) * 1000


async def main(rounds: int) -> dict[str, object]:
    logs.configure(level="error", fmt="json")
    with tempfile.TemporaryDirectory() as tmp:
        store = open_store(f"sqlite+aiosqlite:///{Path(tmp) / 'b.db'}")
        await store.create_schema()
        await seed_demo(store)
        await accounts.set_password_hash(store, "porlov", passwords.hash_password("the-real-password-201"))
        limits = SignInLimits(per_login=10**6, per_address=10**6, window_s=1)
        book = SessionBook(store, idle_s=60, max_s=600, limits=limits, clock=lambda: datetime.now(UTC))
        await _refused_ms(book, "warm-up")  # the dummy hash is made once per process
        wrong: list[float] = []
        unknown: list[float] = []
        for _ in range(rounds):
            wrong.append(await _refused_ms(book, "porlov"))
            unknown.append(await _refused_ms(book, "nobody-here"))
        await store.dispose()
    w, u = statistics.median(wrong), statistics.median(unknown)
    print(f"wrong password: median {w:.1f} ms  (p10 {_q(wrong, 0.1):.1f}, p90 {_q(wrong, 0.9):.1f})")
    print(f"unknown login:  median {u:.1f} ms  (p10 {_q(unknown, 0.1):.1f}, p90 {_q(unknown, 0.9):.1f})")
    return {
        "bench": "signin_timing",
        "rounds": rounds,
        "wrong_password_p50_ms": round(w, 2),
        "unknown_login_p50_ms": round(u, 2),
        "ratio": round(u / w, 3),
    }


def _q(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=30)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(main(args.rounds))))

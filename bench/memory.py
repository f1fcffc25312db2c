"""Resident memory of the daemon with 1,000,000 customers in its store and 10,000 live channels.

The daemon runs as its own process (`cti-daemon run`) on the SQLite store of bench/lookup.py (built once,
cached in bench/.cache/), with a real mosquitto and the PBX simulator. The simulator has one phone per
call; it places N inbound calls (default 5,000: two channels each, the caller's trunk leg and the phone's
leg) that are answered and stay up. The figures, read from /proc/PID/status:

- idle: the daemon connected to everything, before the first call;
- live: once its tracker holds every call (GET /api/v1/calls lists them all, talking);
- peak: VmHWM, the most it ever held;
- the floor beside them, in the same run: a bare interpreter that imported the daemon's code and nothing
  else (what any Python daemon of this code costs before it does anything).

    python bench/memory.py [--calls 5000] [--customers 1000000] [--rate 500]

The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent))

import lookup_store
from ring_to_pop import add_staff, national_of, wait_healthy, write_config

from cti_daemon.ami.simulator.pbx import SimPbx
from cti_daemon.ami.simulator.scenarios import InboundCall, place_inbound
from cti_daemon.ami.simulator.server import AmiServer
from cti_daemon.demo.broker import LocalBroker, free_port

SECRET = "bench-ami-secret"
FIRST_EXTENSION = 1000  # the simulator's phones: 1000, 1001, ... one per call
_FLOOR = "import cti_daemon.app, cti_daemon.cli; print(open('/proc/self/status').read())"


def rss_mb(status: str, field: str = "VmRSS") -> float:
    for line in status.splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024  # kB
    raise ValueError(f"no {field} in /proc status")


def proc_status(pid: int) -> str:
    return Path(f"/proc/{pid}/status").read_text(encoding="ascii")


def floor_rss_mb() -> float:
    out = subprocess.run([sys.executable, "-c", _FLOOR], capture_output=True, text=True, check=True)
    return rss_mb(out.stdout)


async def live_calls(http: aiohttp.ClientSession, http_port: int, token: str) -> tuple[int, int]:
    """(calls the daemon tracks, of which talking) from its own API."""
    headers = {"Authorization": f"Bearer {token}"}
    async with http.get(f"http://127.0.0.1:{http_port}/api/v1/calls", headers=headers) as resp:
        resp.raise_for_status()
        calls = (await resp.json())["calls"]
    return len(calls), sum(1 for c in calls if c.get("state") == "talking")


async def place_calls(pbx: SimPbx, calls: int, rate: float, customers: int) -> list[asyncio.Task[object]]:
    loop = asyncio.get_running_loop()
    start = loop.time()
    tasks: list[asyncio.Task[object]] = []
    for n in range(calls):
        await asyncio.sleep(max(0.0, start + n / rate - loop.time()))
        call = InboundCall(
            national_of((n * 104_729) % customers),
            extension=str(FIRST_EXTENSION + n),
            ring_s=0.05,
            talk_s=None,  # stays up until the bench ends
        )
        tasks.append(asyncio.create_task(place_inbound(pbx, call)))
        if n and n % 1000 == 0:
            print(f"  {n:,} calls placed", flush=True)
    return tasks


async def run(args: argparse.Namespace) -> dict[str, object]:
    db = await lookup_store.ensure_sqlite(args.customers)
    add_staff(db)
    lookup_store.warm_page_cache(db)
    floor = floor_rss_mb()
    token = secrets.token_urlsafe(24)
    async with contextlib.AsyncExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="cti-bench-")))
        (tmp / "tokens").write_text(f"bench:{token}\n", encoding="utf-8")
        broker = await stack.enter_async_context(LocalBroker())
        phones = {str(FIRST_EXTENSION + n): f"Phone {FIRST_EXTENSION + n}" for n in range(args.calls)}
        pbx = SimPbx({"100": "Reception", **phones})
        ami = await stack.enter_async_context(AmiServer(pbx, secret=SECRET))
        http_port = free_port()
        config = write_config(tmp, ami.port, broker.url, db, http_port, "warning")
        log = (tmp / "daemon.log").open("wb")
        stack.callback(log.close)
        env = {**os.environ, "CTI_AMI__SECRET": SECRET, "CTI_HTTP__TOKENS_FILE": str(tmp / "tokens")}
        daemon = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "cti_daemon", "run", "--config", str(config), stderr=log, env=env
        )
        http = await stack.enter_async_context(aiohttp.ClientSession())
        try:
            await wait_healthy(http_port, daemon)
            await asyncio.sleep(2.0)  # settled: the resync done, retained state published
            idle = rss_mb(proc_status(daemon.pid))
            started = time.monotonic()
            tasks = await place_calls(pbx, args.calls, args.rate, args.customers)
            tracked = talking = 0
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                tracked, talking = await live_calls(http, http_port, token)
                if talking >= args.calls:
                    break
                await asyncio.sleep(0.5)
            took = time.monotonic() - started
            await asyncio.sleep(1.0)
            status = proc_status(daemon.pid)
            live, peak = rss_mb(status), rss_mb(status, "VmHWM")
            channels = len(pbx.channels)
        finally:
            daemon.terminate()
            await daemon.wait()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    per_channel_kb = (live - idle) * 1024 / channels if channels else float("nan")
    print(f"store: {args.customers:,} customers (SQLite, {db.name}); daemon log level warning")
    print(f"calls: {args.calls:,} placed at {args.rate:g}/s, all up after {took:.1f} s")
    print(
        f"  the daemon tracks {tracked:,} calls, {talking:,} talking; "
        f"the simulator holds {channels:,} channels"
    )
    print(f"daemon RSS idle          {idle:8.1f} MB   (connected, before the first call)")
    print(f"daemon RSS live          {live:8.1f} MB   ({channels:,} live channels)")
    print(f"daemon RSS peak (VmHWM)  {peak:8.1f} MB")
    print(
        f"bare import floor        {floor:8.1f} MB   (the raw limit: the interpreter and the daemon's code)"
    )
    print(f"per live channel         {per_channel_kb:8.2f} kB   ((live - idle) / channels)")
    if talking < args.calls:
        print(f"WARNING: only {talking:,} of {args.calls:,} calls were talking when measured")
    return {
        "bench": "memory",
        "customers": args.customers,
        "live_channels": channels,
        "daemon_idle_rss_mb": round(idle, 1),
        "daemon_live_rss_mb": round(live, 1),
        "daemon_peak_rss_mb": round(peak, 1),
        "bare_import_rss_mb": round(floor, 1),
        "per_channel_kb": round(per_channel_kb, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--calls", type=int, default=5_000, help="calls kept up (two channels each)")
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--rate", type=float, default=500.0, help="calls placed per second")
    args = parser.parse_args()
    result = asyncio.run(run(args))
    print(json.dumps(result, separators=(",", ":")))


if __name__ == "__main__":
    main()

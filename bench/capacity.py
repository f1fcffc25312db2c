"""Capacity: the highest call rate one daemon holds, every pop delivered and pop p99 under 1 s.

The daemon runs for real (`cti-daemon run`, its own process, every feature on: a seeded SQLite store, or
a PostgreSQL database of its own with --url; the journal registering a contact for each call ringing at
reception, line states, call events, the HTTP API) against a real mosquitto. The PBX side is not the
simulator (it cannot place 100 calls/s on two shared cores): a separate process replays pre-generated
AMI bytes, each call the 26 frames of the recorded Asterisk 22 call b_inbound_answered (noise included;
ids and caller number per call), its ringing part at the call's slot and the rest (answer, hang-up)
HOLD_S later. A subscriber stamps each pop; latency is from the moment the replay wrote the call's
DialBegin to the moment the pop is held (one clock: both on this machine).

The rate steps up (x STEP_FACTOR) from --start for --seconds each (60 by default; shorter for a quick
run); a step is held when every call got its pop, pop p99 < 1 s, and the journal caught up: every call's
contact stored with its outcome (the call facts) within 10 s of the step's last call. Before the steps,
the bare mosquitto QoS 1 publish rate of pop-sized messages, on the same broker. --cpu N pins the daemon
to core N (the replay, the broker and the bench to the others). With --profile the daemon runs under
cProfile and the top functions by own time are printed.

    python bench/capacity.py [--seconds 60] [--start 25] [--max 800] [--cpu N] [--url URL] [--profile]

The last line: {"bench":"capacity","max_calls_per_s":..,"pop_p99_ms_at_max":..,"mqtt_bare_msgs_per_s":..}
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import multiprocessing
import multiprocessing.connection
import os
import pstats
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import aiomqtt
from sqlalchemy import make_url, text
from sqlalchemy.ext.asyncio import create_async_engine

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(BENCH.parent))

from ami_throughput import call_template  # noqa: E402

from cti_daemon.ami.frames import FrameReader  # noqa: E402
from cti_daemon.crm.seed import seed_demo  # noqa: E402
from cti_daemon.crm.store import Store, open_store  # noqa: E402
from cti_daemon.demo.broker import LocalBroker, free_port  # noqa: E402

SECRET = "bench-capacity-secret"
HOLD_S = 1.5  # a call rings this long, then is answered and hangs up (the pop must be out before)
STEP_FACTOR = 1.5
P99_LIMIT_MS = 1000.0
JOURNAL_LAG_LIMIT_S = 10.0  # a step also holds only if the journal caught up this soon after it
TICK_S = 0.005
_LISTS = frozenset({"coreshowchannels", "devicestatelist", "extensionstatelist", "queuestatus"})


# --- the pre-generated AMI bytes ---------------------------------------------------------------------
def call_parts() -> tuple[bytes, bytes]:
    """The recorded call split after its ringing (DialBegin, Newstate, DeviceStateChange) and the rest."""
    frames = call_template()
    cut = next(n for n, f in enumerate(frames) if f.startswith(b"Event: DialBegin")) + 3
    return b"".join(frames[:cut]), b"".join(frames[cut:])


def call_bytes(part: bytes, n: int) -> bytes:
    return (
        part.replace(b"{A}", f"1800000000.{2 * n}".encode())
        .replace(b"{B}", f"1800000000.{2 * n + 1}".encode())
        .replace(b"{TA}", f"{2 * n:08x}".encode())
        .replace(b"{TB}", f"{2 * n + 1:08x}".encode())
        .replace(b"+79161234567", f"+7917{n:07d}".encode())  # a caller the store must look up
    )


def call_id(n: int) -> str:
    return f"1800000000.{2 * n}"


def schedule(rate: float, seconds: float, first: int) -> list[tuple[float, int | None, bytes]]:
    """(offset s, call number when this is its ringing part, bytes), in time order."""
    ring, rest = call_parts()
    out: list[tuple[float, int | None, bytes]] = []
    for k in range(int(rate * seconds)):
        n, at = first + k, k / rate
        out.append((at, n, call_bytes(ring, n)))
        out.append((at + HOLD_S, None, call_bytes(rest, n)))
    out.sort(key=lambda item: item[0])
    return out


# --- the replay process ------------------------------------------------------------------------------
def replay_main(conn: multiprocessing.connection.Connection) -> None:
    asyncio.run(_replay(conn))


async def _replay(conn: multiprocessing.connection.Connection) -> None:
    loop = asyncio.get_running_loop()
    session: asyncio.Future[asyncio.StreamWriter] = loop.create_future()

    async def client(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(asyncio.CancelledError, ConnectionError):  # ends with the process
            await serve(reader, writer)

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"Asterisk Call Manager/11.0.0\r\n")
        frames = FrameReader(expect_banner=False)
        while data := await reader.read(65536):
            for action in frames.feed(data):
                name, aid = action.get("Action", "").lower(), action.get("ActionID", "")
                if name in _LISTS:  # nothing to resync from: the daemon gives up its resync
                    text = f"Response: Error\r\nActionID: {aid}\r\nMessage: Permission denied\r\n\r\n"
                elif name == "ping":
                    text = f"Response: Success\r\nActionID: {aid}\r\nPing: Pong\r\n\r\n"
                else:
                    text = f"Response: Success\r\nActionID: {aid}\r\nMessage: ok\r\n\r\n"
                if name == "login":  # as Asterisk does after every login
                    text += "Event: FullyBooted\r\nPrivilege: system,all\r\nStatus: Fully Booted\r\n\r\n"
                writer.write(text.encode())  # between frames: our writes are whole frames
                if name == "login" and not session.done():
                    session.set_result(writer)

    server = await asyncio.start_server(client, "127.0.0.1", 0)
    conn.send(server.sockets[0].getsockname()[1])
    writer = await session
    while True:
        order = await loop.run_in_executor(None, conn.recv)
        if order is None:
            return
        rate, seconds, first, start_at = order
        plan = schedule(rate, seconds, first)
        rang: dict[int, float] = {}
        at = 0
        await asyncio.sleep(max(0.0, start_at - time.time()))
        while at < len(plan):
            now = time.time() - start_at
            batch = []
            while at < len(plan) and plan[at][0] <= now:
                offset, n, data = plan[at]
                batch.append(data)
                if n is not None:
                    rang[n] = start_at + offset  # the slot: a replay running late counts against the daemon
                at += 1
            if batch:
                writer.write(b"".join(batch))
                await writer.drain()
            await asyncio.sleep(TICK_S)
        conn.send(rang)


# --- the daemon, the broker, the subscriber ----------------------------------------------------------
def write_config(tmp: Path, ami_port: int, mqtt_url: str, db_url: str, http_port: int) -> Path:
    path = tmp / "capacity.toml"
    path.write_text(
        f"""
[ami]
host = "127.0.0.1"
port = {ami_port}
ping_interval_s = 30.0
[mqtt]
url = "{mqtt_url}"
node_id = "capacity"
[database]
url = "{db_url}"
[http]
listen = "127.0.0.1:{http_port}"
[routing]
spool_file = "{tmp / "journal-spool.jsonl"}"
reception_extensions = ["100"]
[logging]
level = "warning"
format = "json"
""",
        encoding="utf-8",
    )
    return path


async def wait_healthy(http_port: int, daemon: asyncio.subprocess.Process, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    said = "no answer"
    async with aiohttp.ClientSession() as http:
        while time.monotonic() < deadline:
            if daemon.returncode is not None:
                raise RuntimeError(f"the daemon exited with {daemon.returncode}")
            with contextlib.suppress(aiohttp.ClientError):
                async with http.get(f"http://127.0.0.1:{http_port}/healthz") as resp:
                    if resp.status == 200:
                        return
                    said = await resp.text()
            await asyncio.sleep(0.2)
    raise TimeoutError(f"the daemon did not become healthy: {said}")


@dataclass
class Pops:
    held: dict[str, float] = field(default_factory=dict)


def broker_pid(broker: LocalBroker) -> int | None:
    proc = getattr(broker, "_proc", None)  # the bench's own look inside: the daemon never does this
    return proc.pid if proc is not None else None


async def subscriber(broker: LocalBroker, pops: Pops, ready: asyncio.Event) -> None:
    async with aiomqtt.Client(broker.host, broker.port, identifier="capacity-agent") as client:
        await client.subscribe("cti/agents/+/popup", qos=1)
        ready.set()
        async for message in client.messages:
            held = time.time()
            payload = message.payload if isinstance(message.payload, bytes | bytearray) else b"{}"
            body = json.loads(payload)
            if body.get("type") == "popup":
                pops.held.setdefault(body["call_id"], held)


async def bare_mqtt_rate(broker: LocalBroker, messages: int = 3000, window: int = 200) -> float:
    """QoS 1 pop-sized messages per second from one publisher to one subscriber, all received, at most
    `window` published and not yet received (mosquitto drops what queues past 1,000 for a slow reader)."""
    data = b'{"pad":"' + b"x" * 900 + b'"}'
    got = 0
    room = asyncio.Semaphore(window)
    done = asyncio.Event()
    async with (
        aiomqtt.Client(broker.host, broker.port, identifier="capacity-bare-sub") as sub,
        aiomqtt.Client(broker.host, broker.port, identifier="capacity-bare-pub") as pub,
    ):
        pub.pending_calls_threshold = window + 10
        await sub.subscribe("bench/bare", qos=1)

        async def read() -> None:
            nonlocal got
            async for _ in sub.messages:
                got += 1
                room.release()
                if got == messages:
                    done.set()
                    return

        async def one() -> None:
            with contextlib.suppress(aiomqtt.MqttError):  # a publish not acknowledged in time: not counted
                await pub.publish("bench/bare", data, qos=1)

        reader = asyncio.create_task(read())
        started = time.perf_counter()
        sends: set[asyncio.Task[None]] = set()
        for _ in range(messages):
            await room.acquire()
            task = asyncio.create_task(one())
            sends.add(task)
            task.add_done_callback(sends.discard)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(done.wait(), 60)
        elapsed = time.perf_counter() - started
        reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await reader
    return got / elapsed


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def thread_cpu(pid: int) -> dict[str, float]:
    """CPU seconds per thread name (the event loop is the process's own thread id)."""
    out: dict[str, float] = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(OSError):
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
            name = "loop" if task.name == str(pid) else (task / "comm").read_text().strip()
            out[name] = out.get(name, 0.0) + (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return out


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[max(0, min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1))))]


@dataclass
class Step:
    rate: float
    calls: int
    missing: int
    p50_ms: float
    p99_ms: float
    cpu_s: float
    journal_lag_s: float | None = None  # after the step, until every call's contact holds its outcome

    @property
    def held(self) -> bool:
        caught_up = self.journal_lag_s is not None and self.journal_lag_s <= JOURNAL_LAG_LIMIT_S
        return self.missing == 0 and self.p99_ms < P99_LIMIT_MS and caught_up


async def journal_counts(store: Store) -> tuple[int, int]:
    """Contacts of calls, and those whose call's facts (the outcome) are written: read beside the daemon."""
    async with store.session() as session:
        query = "SELECT count(*), count(outcome) FROM contacts WHERE call_id IS NOT NULL"
        row = (await session.execute(text(query))).one()
    return int(row[0]), int(row[1])


@contextlib.asynccontextmanager
async def bench_store(url: str | None, tmp: Path) -> AsyncIterator[str]:
    """The store the daemon runs on: SQLite in `tmp`, or a database of its own made (and dropped after)
    on the PostgreSQL server `url` names."""
    if not url:
        yield f"sqlite+aiosqlite:///{tmp / 'cti.db'}"
        return
    name = f"cti_capacity_{os.getpid()}"
    base = make_url(url)
    admin = create_async_engine(base, isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as conn:
            await conn.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            yield base.set(database=name).render_as_string(hide_password=False)
        finally:
            async with admin.connect() as conn:
                await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        await admin.dispose()


async def journal_lag(store: Store, calls: int, since: float, limit_s: float) -> float | None:
    """Seconds from `since` until the journal holds `calls` contacts with their outcome (None: not within
    `limit_s` more): the work behind the pops (contacts, call facts) kept up, or fell behind."""
    deadline = time.monotonic() + limit_s
    while True:
        contacts, with_outcome = await journal_counts(store)
        if contacts >= calls and with_outcome >= calls:
            return time.monotonic() - since
        if time.monotonic() > deadline:
            return None
        await asyncio.sleep(0.25)


async def run(args: argparse.Namespace) -> dict[str, Any]:
    steps: list[Step] = []
    async with contextlib.AsyncExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="cti-capacity-")))
        db_url = await stack.enter_async_context(bench_store(args.url, tmp))
        store = open_store(db_url)
        stack.push_async_callback(store.dispose)
        await store.create_schema()
        await seed_demo(store)
        broker = await stack.enter_async_context(LocalBroker())
        if broker.kind != "mosquitto":
            raise SystemExit("capacity needs the mosquitto binary (apt-get install mosquitto)")
        bare = await bare_mqtt_rate(broker)
        print(f"bare mosquitto QoS 1: {bare:,.0f} pop-sized msgs/s (one publisher, one subscriber)")

        ours, theirs = multiprocessing.Pipe()
        replay = multiprocessing.Process(target=replay_main, args=(theirs,), daemon=True)
        replay.start()
        stack.callback(replay.terminate)
        ami_port = ours.recv()
        http_port = free_port()
        config = write_config(tmp, ami_port, broker.url, db_url, http_port)
        log = (Path(args.log_out) if args.log_out else tmp / "daemon.log").open("wb")
        stack.callback(log.close)
        profile = Path(args.profile_out) if args.profile_out else tmp / "daemon.prof"
        command = [sys.executable, "-m", "cti_daemon", "run", "--config", str(config)]
        if args.profile:
            command[1:1] = ["-m", "cProfile", "-o", str(profile)]
        if args.cpu is not None:  # the daemon (every thread of it) on that one core; the rest elsewhere
            command[:0] = ["taskset", "-c", str(args.cpu)]
            others = ",".join(str(c) for c in sorted(os.sched_getaffinity(0)) if c != args.cpu)
            if others:
                rest = {int(c) for c in others.split(",")}
                for pid in (os.getpid(), replay.pid, broker_pid(broker)):
                    if pid:
                        os.sched_setaffinity(pid, rest)
        daemon = await asyncio.create_subprocess_exec(
            *command, stderr=log, env={**os.environ, "CTI_AMI__SECRET": SECRET}
        )
        try:
            await wait_healthy(http_port, daemon)
            pops = Pops()
            ready = asyncio.Event()
            sub = asyncio.create_task(subscriber(broker, pops, ready))
            await ready.wait()
            rate, first = float(args.start), 0
            while rate <= args.max:
                before = cpu_seconds(daemon.pid)
                threads_before = thread_cpu(daemon.pid)
                ours.send((rate, args.seconds, first, time.time() + 0.5))
                rang: dict[int, float] = await asyncio.get_running_loop().run_in_executor(None, ours.recv)
                replayed_at = time.monotonic()
                await asyncio.sleep(3.0)  # the last pops of the step
                lag = await journal_lag(store, first + len(rang), replayed_at, JOURNAL_LAG_LIMIT_S + 5)
                ms = [1000 * (pops.held[call_id(n)] - t) for n, t in rang.items() if call_id(n) in pops.held]
                step = Step(
                    rate,
                    len(rang),
                    len(rang) - len(ms),
                    percentile(ms, 50),
                    percentile(ms, 99),
                    cpu_seconds(daemon.pid) - before,
                    lag,
                )
                steps.append(step)
                print(
                    f"{rate:7.1f} calls/s x {args.seconds:g} s: {step.calls} calls, "
                    f"missing pops {step.missing}, "
                    f"pop p50 {step.p50_ms:8.1f} ms p99 {step.p99_ms:8.1f} ms, daemon CPU "
                    f"{step.cpu_s:6.1f} s ({1000 * step.cpu_s / max(step.calls, 1):.2f} ms/call), journal "
                    f"{'behind' if step.journal_lag_s is None else f'{step.journal_lag_s:.1f} s'} "
                    f"{'held' if step.held else 'NOT held'}",
                    flush=True,
                )
                after = thread_cpu(daemon.pid)
                spent = {k: v - threads_before.get(k, 0.0) for k, v in after.items()}
                busiest = sorted(spent.items(), key=lambda kv: -kv[1])
                shares = ", ".join(f"{k} {v:.1f} s" for k, v in busiest if v)
                print(f"         CPU by thread: {shares}", flush=True)
                if not step.held:
                    break
                first += len(rang)
                rate = round(rate * STEP_FACTOR, 1)
            ours.send(None)
            sub.cancel()
            with contextlib.suppress(asyncio.CancelledError, aiomqtt.MqttError):
                await sub
        finally:
            daemon.terminate()
            await daemon.wait()
        if args.profile and profile.exists():
            print("daemon profile, top 25 by own time:")
            stats = pstats.Stats(str(profile))
            stats.sort_stats("tottime").print_stats(25)
            print("daemon profile, the daemon's own functions by cumulative time:")
            stats.sort_stats("cumulative").print_stats("cti_daemon", 30)
    held = [s for s in steps if s.held]
    best = max(held, key=lambda s: s.rate) if held else None
    return {
        "bench": "capacity",
        "max_calls_per_s": best.rate if best else 0,
        "pop_p99_ms_at_max": round(best.p99_ms, 1) if best else None,
        "mqtt_bare_msgs_per_s": round(bare),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=60.0, help="length of each step (60: of record)")
    parser.add_argument("--start", type=float, default=25.0, help="first step's calls per second")
    parser.add_argument("--max", type=float, default=800.0, help="no step above this rate")
    parser.add_argument("--profile", action="store_true", help="run the daemon under cProfile")
    parser.add_argument(
        "--url", default=None, help="a PostgreSQL server (postgresql+asyncpg://...): a database is made there"
    )
    parser.add_argument(
        "--cpu", type=int, default=None, help="pin the daemon to this one core (taskset), the bench elsewhere"
    )
    parser.add_argument("--profile-out", default=None, help="keep the cProfile data in this file")
    parser.add_argument(
        "--log-out", default=None, help="keep the daemon's log (warnings and up) in this file"
    )
    args = parser.parse_args()
    result = asyncio.run(run(args))
    print(json.dumps(result, separators=(",", ":")))


if __name__ == "__main__":
    main()

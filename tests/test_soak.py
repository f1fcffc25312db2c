"""Soak (issue 15, must show 2): a real `cti-daemon run` on PostgreSQL while calls ring and several clients
POST contacts, and the test cuts PostgreSQL through a proxy (reset, then silent), fills and frees the
spool's disk (a small tmpfs; skipped where it cannot be mounted), and kill -9s the daemon twice. At the end
every contact answered 201/202 is in the store exactly once, every ring contact too, no call has two
contacts, and the daemon stops on SIGTERM with exit 0.

About 80 s. Marked `soak` (`pytest -m "not soak"` leaves it out); `make test` runs it.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import signal
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from cti_daemon.ami.simulator.scenarios import CallHandle, InboundCall, place_inbound
from cti_daemon.demo.broker import LocalBroker, free_port
from tests.conftest import AMI_SECRET, Sim
from tests.support.api import new_token, write_tokens
from tests.support.mqtt import Subscriber
from tests.support.pg import contacts_by, needs_postgres, seeded_postgres
from tests.support.tcp_proxy import TcpProxy
from tests.support.tmpfs import fill, small_tmpfs

pytestmark = [needs_postgres, pytest.mark.soak]

POP = "cti/agents/e-100/popup"
CLIENTS = 3
_LONG_CALLERS = itertools.count(1)


class DaemonProcess:
    """`cti-daemon run` as a child process: started, killed with SIGKILL, started again on one config."""

    def __init__(self, config: Path, port: int) -> None:
        self.config = config
        self.base = f"http://127.0.0.1:{port}"
        self.proc: asyncio.subprocess.Process | None = None
        self.lines: list[str] = []
        self._reader: asyncio.Task[None] | None = None

    async def start(self, http: aiohttp.ClientSession) -> None:
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "cti_daemon",
            "run",
            "--config",
            str(self.config),
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        assert self.proc.stderr is not None
        self._reader = asyncio.create_task(self._collect(self.proc.stderr))
        for _ in range(300):  # listening (whatever the store's state)
            with contextlib.suppress(aiohttp.ClientError):
                async with http.get(self.base + "/healthz") as resp:
                    if resp.status in (200, 503):
                        return
            await asyncio.sleep(0.1)
        raise AssertionError("the daemon never listened")

    async def kill9(self) -> None:
        assert self.proc is not None
        self.proc.kill()
        await self.proc.wait()
        if self._reader is not None:
            await self._reader

    async def terminate(self) -> int:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        code = await asyncio.wait_for(self.proc.wait(), 30)
        if self._reader is not None:
            await self._reader
        return code

    async def _collect(self, stream: asyncio.StreamReader) -> None:
        async for raw in stream:
            self.lines.append(raw.decode("utf-8", "replace").rstrip("\n"))


class Clients:
    """Several HTTP clients registering visits; what was answered 201/202 is what must never be lost."""

    def __init__(self, daemon: DaemonProcess, token: str) -> None:
        self._daemon = daemon
        self._token = token
        self.acknowledged: dict[str, str] = {}  # contact id -> its unique description
        self.statuses: list[int] = []
        self._numbers = itertools.count()

    async def run(self, http: aiohttp.ClientSession, client: int) -> None:
        headers = {"Authorization": f"Bearer {self._token}"}
        while True:
            text = f"soak {client}-{next(self._numbers)}"
            body = {
                "type": "visit",
                "caller": {"name": "Soak", "phone": "+7 916 555-00-11"},
                "description": text,
            }
            try:
                async with http.post(
                    self._daemon.base + "/api/v1/contacts",
                    json=body,
                    headers=headers,
                    timeout=aiohttp.ClientTimeout(total=20),
                ) as resp:
                    self.statuses.append(resp.status)
                    if resp.status in (201, 202):
                        self.acknowledged[(await resp.json())["id"]] = text
            except (aiohttp.ClientError, TimeoutError):
                self.statuses.append(0)  # killed under us, or not listening yet: never acknowledged
            await asyncio.sleep(0.15)


class Calls:
    """Calls ringing reception one after another; paused around a kill, so that no ring contact is in the
    half millisecond between its pop and its write."""

    def __init__(self, sim: Sim) -> None:
        self._sim = sim
        self.allowed = asyncio.Event()
        self.allowed.set()
        self.in_flight = 0
        self.call_ids: list[str] = []
        self._numbers = itertools.count(1)

    async def run(self) -> None:
        while True:
            await self.allowed.wait()
            n = next(self._numbers)
            self.in_flight += 1
            try:
                call = InboundCall(f"89169{n:06d}", ring_s=0.4, talk_s=0.2, answer=n % 3 != 0)
                started: asyncio.Future[CallHandle] = asyncio.get_running_loop().create_future()
                await place_inbound(self._sim.pbx, call, started=started)
                if started.done() and not started.exception():
                    self.call_ids.append(started.result().call_id)
            finally:
                self.in_flight -= 1
            await asyncio.sleep(0.2)

    async def pause(self) -> None:
        self.allowed.clear()
        while self.in_flight:
            await asyncio.sleep(0.05)
        await asyncio.sleep(1.5)  # the last ring's contact written (or spooled) by now

    def resume(self) -> None:
        self.allowed.set()


def _config(
    tmp_path: Path, sim: Sim, broker: LocalBroker, db_url: str, spool: Path, token: str, port: int
) -> Path:
    tokens = write_tokens(tmp_path, ("soak-client", token))
    cfg = tmp_path / "cti.toml"
    cfg.write_text(
        f'[ami]\nport = {sim.port}\nsecret = "{AMI_SECRET}"\nping_interval_s = 5.0\n'
        "reconnect_max_delay_s = 1.0\nconnect_timeout_s = 2.0\n"
        f'[mqtt]\nurl = "{broker.url}"\nnode_id = "soak"\nreconnect_max_delay_s = 0.5\n'
        f'[database]\nurl = "{db_url}"\nstatement_timeout_s = 1.0\n'
        f'[http]\nlisten = "127.0.0.1:{port}"\ntokens_file = "{tokens}"\n'
        f'[routing]\nspool_file = "{spool}"\n'
        '[logging]\nformat = "json"\n',
        encoding="utf-8",
    )
    return cfg


@contextlib.contextmanager
def _spool_disk(tmp_path: Path) -> Iterator[Path | None]:
    """The spool's directory on a 4 MB tmpfs the test fills, or a plain directory (None: cannot fill)."""
    try:
        with small_tmpfs(tmp_path / "disk", size="4m") as disk:
            yield disk
    except pytest.skip.Exception:
        plain = tmp_path / "plain-disk"
        plain.mkdir()
        yield None


def _spool_keys(spool: Path) -> list[str]:
    """What the daemon's spool holds, read as it is (never through Spool(), which would repair the file)."""
    try:
        raw = spool.read_bytes()
    except FileNotFoundError:
        return []
    keys = []
    for line in raw.splitlines():
        with contextlib.suppress(ValueError):
            keys.append(json.loads(line)["key"])
    return keys


async def _ring_long(sim: Sim, agent: Subscriber) -> tuple[asyncio.Task[CallHandle], str, str]:
    """A call that keeps ringing across the kill: its task, its call id and the contact its pop named."""
    started: asyncio.Future[CallHandle] = asyncio.get_running_loop().create_future()
    number = f"89168{next(_LONG_CALLERS):06d}"
    task = asyncio.create_task(
        place_inbound(sim.pbx, InboundCall(number, ring_s=8.0, answer=False), started=started)
    )
    call_id = (await asyncio.wait_for(started, 10)).call_id
    pop = await agent.wait_for(POP, call_id=call_id, type="popup", timeout=15)
    return task, call_id, str(pop.payload["contact_id"])


async def _until(check: Any, timeout: float = 30.0) -> None:
    for _ in range(int(timeout / 0.1)):
        if await check():
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"not within {timeout} s: {check.__name__}")


@contextlib.asynccontextmanager
async def _running(*tasks: Any) -> AsyncIterator[list[asyncio.Task[None]]]:
    started = [asyncio.create_task(t) for t in tasks]
    try:
        yield started
    finally:
        for task in started:
            task.cancel()
        await asyncio.gather(*started, return_exceptions=True)


async def test_soak_store_cuts_full_disk_and_two_kills_lose_or_double_nothing(
    sim: Sim, broker: LocalBroker, tmp_path: Path
) -> None:
    token = new_token()
    port = free_port()
    async with seeded_postgres() as url, TcpProxy(5432) as proxy, Subscriber(broker.url, POP) as agent:
        with _spool_disk(tmp_path) as disk:
            spool = (disk or tmp_path / "plain-disk") / "journal-spool.jsonl"
            daemon = DaemonProcess(
                _config(tmp_path, sim, broker, proxy.url_for(url), spool, token, port), port
            )
            clients, calls = Clients(daemon, token), Calls(sim)
            async with aiohttp.ClientSession() as http:
                await daemon.start(http)
                async with _running(calls.run(), *(clients.run(http, c) for c in range(CLIENTS))):
                    await asyncio.sleep(6)  # all well
                    proxy.set_mode("reset")  # PostgreSQL cut: every connection reset
                    await asyncio.sleep(6)
                    proxy.set_mode("silent")  # then silent: packets held, no reset
                    await asyncio.sleep(8)
                    proxy.set_mode("pass")
                    await asyncio.sleep(5)  # the spool replays

                    if disk is not None:  # the spool's disk full while the store is away
                        proxy.set_mode("reset")
                        await asyncio.sleep(2)
                        filler = fill(disk)
                        refused_before = clients.statuses.count(503)
                        await asyncio.sleep(4)
                        assert clients.statuses.count(503) > refused_before  # refused, never 202
                        filler.unlink()
                        await asyncio.sleep(2)
                        proxy.set_mode("pass")
                        await asyncio.sleep(4)

                    # kill -9 with a call ringing, the store there
                    await calls.pause()
                    first_long, first_call, first_contact = await _ring_long(sim, agent)

                    async def first_stored() -> bool:
                        return first_contact in await contacts_by(url, "id")

                    await _until(first_stored)
                    await daemon.kill9()
                    await daemon.start(http)
                    calls.resume()
                    await asyncio.sleep(6)

                    # kill -9 with a call ringing, the store away and the spool holding contacts
                    proxy.set_mode("reset")
                    await asyncio.sleep(3)
                    await calls.pause()
                    second_long, second_call, second_contact = await _ring_long(sim, agent)

                    async def second_spooled() -> bool:
                        return second_contact in _spool_keys(spool)

                    await _until(second_spooled)
                    await daemon.kill9()
                    await daemon.start(http)  # the store still away: it starts from the kept directory
                    calls.resume()
                    await asyncio.sleep(4)
                    proxy.set_mode("pass")
                    await asyncio.sleep(6)
                    await calls.pause()
                await asyncio.gather(first_long, second_long)

                async def spool_empty() -> bool:
                    return not _spool_keys(spool)

                await _until(spool_empty, timeout=60)
                await asyncio.sleep(2)  # the missed marks of the last calls
                assert await daemon.terminate() == 0
        stored = await contacts_by(url, "id")
        by_text = await contacts_by(url, "description")
        by_call = await contacts_by(url, "call_id")

    logs = "\n".join(daemon.lines)
    assert "Task exception was never retrieved" not in logs and "Traceback" not in logs
    acknowledged = clients.acknowledged
    assert len(acknowledged) > 100 and clients.statuses.count(202) > 10  # the outages were felt
    assert {i: stored.get(i) for i in acknowledged} == dict.fromkeys(acknowledged, 1)
    assert {t: by_text.get(t) for t in acknowledged.values()} == dict.fromkeys(acknowledged.values(), 1)
    ring_contacts = {str(m.payload["contact_id"]) for m in agent.messages if m.payload.get("type") == "popup"}
    assert len(ring_contacts) > 20 and {first_contact, second_contact} <= ring_contacts
    assert {c: stored.get(c) for c in ring_contacts} == dict.fromkeys(ring_contacts, 1)
    assert set(calls.call_ids) <= set(by_call)  # every call that rang reception has its contact
    # One call, one contact: across both kill -9s (first_call and second_call ring through them), and for
    # the calls that end while their ring is still being identified during the store's outage.
    doubled = {c: n for c, n in by_call.items() if n > 1}
    for line in daemon.lines:  # shown by pytest only when this fails: the daemon's own account of the call
        if any(c in line for c in doubled):
            print(line)
    assert doubled == {}, (first_call, second_call)

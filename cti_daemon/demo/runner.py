"""`cti-daemon demo`: everything on this machine with no set-up, pops printed as an agent reads them."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import secrets
import tempfile
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

import aiohttp
import aiomqtt

from cti_daemon.agent.card import render
from cti_daemon.ami.simulator.pbx import SimPbx
from cti_daemon.ami.simulator.scenarios import CallHandle, InboundCall, place_inbound
from cti_daemon.ami.simulator.server import AmiServer
from cti_daemon.app import Daemon
from cti_daemon.config import Config, with_overrides
from cti_daemon.crm.seed import SeedSummary, seed_demo
from cti_daemon.crm.store import open_store
from cti_daemon.demo.accounts import make_sign_ins
from cti_daemon.demo.broker import LocalBroker, free_port
from cti_daemon.demo.reception import DemoReceptionist
from cti_daemon.secret import Secret

_NAMES = {"anonymous": "Anonymous"}


@dataclass(frozen=True, slots=True)
class DemoPorts:
    ami: int
    mqtt: int
    http: int

    @classmethod
    def from_base(cls, base: int | None) -> DemoPorts:
        if base is None:
            return cls(free_port(), free_port(), free_port())
        return cls(base, base + 1, base + 2)


def _callers(seed: SeedSummary) -> itertools.cycle[tuple[str, str, bool]]:
    """(number as the PBX sends it, PBX display name, answered?) — known, unknown, shared, withheld..."""
    mix: list[tuple[str, str, bool]] = []
    for i, known in enumerate(seed.known_numbers[:12]):
        mix.append((known, "", i % 4 != 3))
        if i % 3 == 0:
            mix.append((seed.unknown_numbers[i % len(seed.unknown_numbers)], "", True))
        if i % 4 == 1 and seed.shared_numbers:
            mix.append((seed.shared_numbers[i % len(seed.shared_numbers)], "", True))
        if i % 5 == 2:
            mix.append(("anonymous", "Anonymous", False))
    return itertools.cycle(mix)


async def run_demo(
    *,
    port_base: int | None,
    calls_per_minute: float,
    out: TextIO,
    stop: asyncio.Event,
    ring_s: float = 3.0,
    talk_s: float = 4.0,
) -> None:
    ports = DemoPorts.from_base(port_base)
    async with AsyncExitStack() as stack:
        tmp = stack.enter_context(tempfile.TemporaryDirectory(prefix="cti-demo-"))
        db_url = f"sqlite+aiosqlite:///{Path(tmp) / 'demo.db'}"
        store = open_store(db_url)
        await store.create_schema()
        seed = await seed_demo(store)
        sign_ins = await make_sign_ins(store, Config().routing.reception_extensions)
        await store.dispose()

        broker = await stack.enter_async_context(LocalBroker(ports.mqtt))
        ami_secret = secrets.token_urlsafe(12)
        api_token = secrets.token_urlsafe(18)
        tokens = Path(tmp) / "tokens"
        tokens.write_text(f"demo:{api_token}\n", encoding="utf-8")
        pbx = SimPbx()
        await stack.enter_async_context(AmiServer(pbx, port=ports.ami, secret=ami_secret))
        config = with_overrides(
            Config(),
            ami={"port": ports.ami, "secret": Secret(ami_secret), "ping_interval_s": 5.0},
            mqtt={"url": broker.url, "node_id": "demo"},
            database={"url": db_url},
            routing={"spool_file": str(Path(tmp) / "journal-spool.jsonl")},
            http={"listen": f"127.0.0.1:{ports.http}", "tokens_file": str(tokens)},
        )
        out.write(
            f"cti-daemon demo: AMI simulator 127.0.0.1:{ports.ami} · MQTT ({broker.kind}) {broker.url} · "
            f"HTTP http://127.0.0.1:{ports.http}/healthz\n"
            f"store: {seed.customers} seeded customers · staff on 100 (reception), 201-203 · Ctrl-C stops\n"
            f"API:   curl -H 'Authorization: Bearer {api_token}' http://127.0.0.1:{ports.http}/api/v1/lines\n"
            f"agent: cti-daemon agent --employee e-100 --mqtt {broker.url}\n\n"
        )
        out.flush()
        daemon = await stack.enter_async_context(Daemon(config))
        await daemon.wait_ready(15.0)
        out.write("".join(sign_in.line(ports.http) + "\n" for sign_in in sign_ins) + "\n")
        out.flush()
        printer = asyncio.create_task(_print_pops(broker.url, out))
        await asyncio.sleep(0.3)  # the printer subscribes before the first call rings
        calls: set[asyncio.Task[object]] = set()
        receptionist = DemoReceptionist(f"http://127.0.0.1:{ports.http}", api_token)
        http = await stack.enter_async_context(aiohttp.ClientSession())
        try:
            for number, name, answered in _callers(seed):
                call = InboundCall(
                    number=number,
                    name=name or _NAMES.get(number, ""),
                    answer=answered,
                    ring_s=ring_s,
                    talk_s=talk_s + 4.0,  # long enough to be put through to an employee
                )
                started: asyncio.Future[CallHandle] = asyncio.get_running_loop().create_future()
                for work in (place_inbound(pbx, call, started=started), receptionist.handle(started, http)):
                    task: asyncio.Task[object] = asyncio.create_task(work)
                    calls.add(task)
                    task.add_done_callback(calls.discard)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), 60.0 / calls_per_minute)
                if stop.is_set():
                    break
        finally:
            for task in list(calls):
                task.cancel()
            printer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await printer


async def _print_pops(url: str, out: TextIO) -> None:
    host, _, port = url.removeprefix("mqtt://").rpartition(":")
    async with aiomqtt.Client(host, int(port), identifier="cti-demo-viewer") as client:
        await client.subscribe("cti/agents/+/popup", qos=1)
        async for message in client.messages:
            try:
                payload = json.loads(
                    bytes(message.payload)
                    if isinstance(message.payload, bytes | bytearray)
                    else str(message.payload)
                )
            except (ValueError, TypeError):
                continue
            out.write(render(payload) + "\n")
            out.flush()


def main(port_base: int | None, calls_per_minute: float, duration_s: float | None, out: TextIO) -> None:
    async def _main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        import signal  # noqa: PLC0415

        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        if duration_s is not None:
            loop.call_later(duration_s, stop.set)
        await run_demo(port_base=port_base, calls_per_minute=calls_per_minute, out=out, stop=stop)

    asyncio.run(_main())

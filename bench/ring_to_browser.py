"""Ring to the card in a browser: the PBX simulator rings extension 201, the daemon (its own process,
`cti-daemon run`) identifies the caller and tells both ways out; Debian's Chromium, signed in as e-201 on
the daemon's page, timestamps the card's arrival in the DOM with a MutationObserver, and an MQTT
subscriber timestamps the same pop on cti/agents/e-201/popup. Latency = from the moment the simulator
writes the ringing event to the moment the card is in the page's DOM (or the pop is held over MQTT).

    python bench/ring_to_browser.py [--rings 220] [--gap-s 0.05]

Both clocks are this machine's wall clock: Python's time.time() and the page's performance.timeOrigin +
performance.now(). The last line is one JSON object:
{"bench":"ring_to_browser","p50_ms":..,"p99_ms":..,"mqtt_p99_ms":..}.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
import aiomqtt
from playwright.async_api import Page, async_playwright

from cti_daemon import passwords
from cti_daemon.ami.simulator.pbx import SimPbx
from cti_daemon.ami.simulator.scenarios import CallHandle, InboundCall, place_inbound
from cti_daemon.ami.simulator.server import AmiServer
from cti_daemon.crm import accounts
from cti_daemon.crm.seed import seed_demo
from cti_daemon.crm.store import open_store
from cti_daemon.demo.broker import LocalBroker, free_port

SECRET = "bench-ami-secret"
CHROMIUM = "/usr/bin/chromium"
LOGIN, PASSWORD = "porlov", "bench-Pa55word-201"  # e-201, at extension 201
WARMUP_RINGS = 20

OBSERVER = """
window.__cards = {};
new MutationObserver((records) => {
  const at = performance.timeOrigin + performance.now();
  for (const r of records) for (const n of r.addedNodes) {
    const id = n.dataset && n.dataset.callId;
    if (id && !(id in window.__cards)) window.__cards[id] = at;
  }
}).observe(document.getElementById("pops"), {childList: true});
"""


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[max(0, min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1))))]


async def seeded_store(tmp: Path) -> tuple[Path, list[str]]:
    db = tmp / "cti.db"
    store = open_store(f"sqlite+aiosqlite:///{db}")
    try:
        await store.create_schema()
        summary = await seed_demo(store)
        assert await accounts.set_password_hash(store, LOGIN, passwords.hash_password(PASSWORD))
        await accounts.set_role(store, LOGIN, "employee")
    finally:
        await store.dispose()
    return db, summary.known_numbers


def write_config(tmp: Path, ami_port: int, mqtt_url: str, db: Path, http_port: int) -> Path:
    path = tmp / "bench.toml"
    path.write_text(
        f"""
[ami]
host = "127.0.0.1"
port = {ami_port}
username = "cti"
[mqtt]
url = "{mqtt_url}"
node_id = "bench"
[database]
url = "sqlite+aiosqlite:///{db}"
[http]
listen = "127.0.0.1:{http_port}"
[routing]
spool_file = "{tmp / "journal-spool.jsonl"}"
[logging]
level = "warning"
format = "json"
""",
        encoding="utf-8",
    )
    return path


async def wait_healthy(base: str, daemon: asyncio.subprocess.Process, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession() as http:
        while time.monotonic() < deadline:
            if daemon.returncode is not None:
                raise RuntimeError(f"the daemon exited with {daemon.returncode}")
            with contextlib.suppress(aiohttp.ClientError):
                async with http.get(base + "/healthz") as resp:
                    if resp.status == 200:
                        return
            await asyncio.sleep(0.1)
    raise TimeoutError("the daemon did not become healthy")


async def mqtt_pops(broker: LocalBroker, held: dict[str, float], ready: asyncio.Event) -> None:
    async with aiomqtt.Client(broker.host, broker.port, identifier="bench-agent") as client:
        await client.subscribe("cti/agents/e-201/popup", qos=1)
        ready.set()
        async for message in client.messages:
            at = time.time()
            payload = message.payload if isinstance(message.payload, bytes | bytearray) else b"{}"
            body = json.loads(payload)
            if body.get("type") == "popup":
                held.setdefault(body["call_id"], at)


async def stream_pops(base: str, cookie: str, held: dict[str, float], ready: asyncio.Event) -> None:
    """The same stream read by Python instead of Chromium: the daemon's side of the latency alone."""
    headers = {"Cookie": f"cti_session={cookie}", "Origin": base}
    async with (
        aiohttp.ClientSession() as http,
        http.ws_connect(base + "/api/v1/stream", headers=headers) as ws,
    ):
        ready.set()
        async for msg in ws:
            at = time.time()
            env = json.loads(msg.data)
            if env["payload"].get("type") == "popup":
                held.setdefault(env["payload"]["call_id"], at)


async def ring_once(pbx: SimPbx, number: str) -> tuple[str, float]:
    """One ring at 201 (nobody answers; the caller gives up); the call id and the wall time of its ring."""
    loop = asyncio.get_running_loop()
    started: asyncio.Future[CallHandle] = loop.create_future()
    call = InboundCall(number, "Bench", extension="201", answer=False, ring_s=0.25, talk_s=None)
    task = asyncio.create_task(place_inbound(pbx, call, started=started))
    handle = await asyncio.wait_for(started, 5)
    assert handle.ringing_at is not None
    rang = time.time() - (loop.time() - handle.ringing_at)  # the moment the simulator wrote it, in wall time
    await task
    return handle.call_id, rang


async def page_times(page: Page, name: str) -> dict[str, float]:
    found = await page.evaluate(f"window.{name}")
    return {str(k): float(v) / 1000 for k, v in found.items()}


async def run(args: argparse.Namespace) -> dict[str, object]:
    rings: dict[str, float] = {}
    held: dict[str, float] = {}
    streamed: dict[str, float] = {}
    async with contextlib.AsyncExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="cti-bench-")))
        db, known = await seeded_store(tmp)
        broker = await stack.enter_async_context(LocalBroker())
        if broker.kind != "mosquitto":
            raise SystemExit("ring_to_browser needs the mosquitto binary (apt-get install mosquitto)")
        pbx = SimPbx({ext: f"Staff {ext}" for ext in ("100", "201", "202", "203")})
        ami = await stack.enter_async_context(AmiServer(pbx, secret=SECRET))
        http_port = free_port()
        base = f"http://127.0.0.1:{http_port}"
        config = write_config(tmp, ami.port, broker.url, db, http_port)
        log = (tmp / "daemon.log").open("wb")
        stack.callback(log.close)
        env = {**os.environ, "CTI_AMI__SECRET": SECRET}
        daemon = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "cti_daemon", "run", "--config", str(config), stderr=log, env=env
        )
        try:
            await wait_healthy(base, daemon)
            ready = asyncio.Event()
            sub = asyncio.create_task(mqtt_pops(broker, held, ready))
            await ready.wait()
            pw = await stack.enter_async_context(async_playwright())
            browser = await pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
            page = await browser.new_page()
            await page.goto(base + "/")
            await page.fill("#login", LOGIN)
            await page.fill("#password", PASSWORD)
            await page.click("#sign-in button[type=submit]")
            await page.wait_for_selector("#link-state[data-state=live]")
            await page.evaluate(OBSERVER)
            cookie = next(c["value"] for c in await page.context.cookies() if c["name"] == "cti_session")
            ws_ready = asyncio.Event()
            reader = asyncio.create_task(stream_pops(base, cookie, streamed, ws_ready))
            await ws_ready.wait()
            for n in range(args.rings):
                call_id, rang = await ring_once(pbx, known[n % len(known)])
                rings[call_id] = rang
                await page.wait_for_function(f"{json.dumps(call_id)} in window.__cards", timeout=10_000)
                await asyncio.sleep(args.gap_s)
            await asyncio.sleep(0.5)
            cards = await page_times(page, "__cards")
            await browser.close()
            sub.cancel()
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader
            with contextlib.suppress(asyncio.CancelledError, aiomqtt.MqttError):
                await sub
        finally:
            daemon.terminate()
            await daemon.wait()

    measured = list(rings)[WARMUP_RINGS:]
    page_ms = [1000 * (cards[c] - rings[c]) for c in measured if c in cards]
    mqtt_ms = [1000 * (held[c] - rings[c]) for c in measured if c in held]
    streamed_ms = [1000 * (streamed[c] - rings[c]) for c in measured if c in streamed]
    p50, p99 = percentile(page_ms, 50), percentile(page_ms, 99)
    mqtt_p50, mqtt_p99 = percentile(mqtt_ms, 50), percentile(mqtt_ms, 99)
    print(
        f"rings at 201: {len(rings)} ({WARMUP_RINGS} warm-up rings left out); "
        f"one at a time, {args.gap_s:g} s apart"
    )
    print(f"  cards in the DOM: {len(page_ms)} measured; pops over MQTT: {len(mqtt_ms)} measured")
    print(
        f"ring -> card in DOM  p50 {p50:7.3f} ms   p99 {p99:7.3f} ms   max {max(page_ms, default=0):7.3f} ms"
    )
    print(
        f"ring -> stream in Python p50 {percentile(streamed_ms, 50):7.3f} ms   "
        f"p99 {percentile(streamed_ms, 99):7.3f} ms   (the same stream, read by this process)"
    )
    print(f"ring -> MQTT pop     p50 {mqtt_p50:7.3f} ms   p99 {mqtt_p99:7.3f} ms   (same rings, same run)")
    return {
        "bench": "ring_to_browser",
        "rings": len(page_ms),
        "p50_ms": round(p50, 3),
        "p99_ms": round(p99, 3),
        "stream_p99_ms": round(percentile(streamed_ms, 99), 3),
        "mqtt_p50_ms": round(mqtt_p50, 3),
        "mqtt_p99_ms": round(mqtt_p99, 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rings", type=int, default=220)
    parser.add_argument("--gap-s", type=float, default=0.05)
    args = parser.parse_args()
    if args.rings < WARMUP_RINGS + 200:
        print(f"note: fewer than {WARMUP_RINGS + 200} rings gives fewer than 200 measured")
    result = asyncio.run(run(args))
    print(json.dumps(result, separators=(",", ":")))


if __name__ == "__main__":
    main()

"""GET /api/v1/stream over a real socket: the daemon with the simulator, mosquitto and a seeded store."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import socket
from typing import Any

import aiohttp
from aiohttp import web

from cti_daemon.ami.simulator.scenarios import CallHandle, InboundCall, place_inbound
from cti_daemon.api.errors import Handler
from cti_daemon.api.principal import PRINCIPAL, Principal, Role
from cti_daemon.api.stream import StreamSources
from cti_daemon.api.stream import routes as stream_routes
from cti_daemon.crm.seed import SeedSummary
from cti_daemon.outbound.topics import Topics
from cti_daemon.stream.hub import StreamHub
from tests.conftest import Sim
from tests.support.api import Api
from tests.support.browser import give_passwords, page
from tests.support.calls import until_async


async def _ring(sim: Sim, call: InboundCall) -> tuple[asyncio.Task[CallHandle], CallHandle]:
    started: asyncio.Future[CallHandle] = asyncio.get_running_loop().create_future()
    task = asyncio.create_task(place_inbound(sim.pbx, call, started=started))
    return task, await asyncio.wait_for(started, 5)


class Page:
    """What a page received, in order; `next` finds the first envelope matching, received or to come."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self.seen: list[dict[str, Any]] = []

    async def next(self, topic: str, **match: Any) -> dict[str, Any]:
        def matching(env: dict[str, Any]) -> bool:
            return env["topic"] == topic and all(env["payload"].get(k) == v for k, v in match.items())

        async def find() -> dict[str, Any]:
            for env in self.seen:
                if matching(env):
                    return dict(env["payload"])
            while True:
                msg = await self.ws.receive()
                assert msg.type == aiohttp.WSMsgType.TEXT, msg
                env = json.loads(msg.data)
                self.seen.append(env)
                if matching(env):
                    return dict(env["payload"])

        return await asyncio.wait_for(find(), 10)


def _auth(api: Api) -> dict[str, str]:
    return {"Authorization": f"Bearer {api.token}"}


async def test_given_a_page_connects_then_a_snapshot_comes_first_and_then_the_ring_at_201_as_it_happens(
    api: Api, sim: Sim, seeded_sqlite: tuple[str, SeedSummary]
) -> None:
    raw = seeded_sqlite[1].known_numbers[0]
    async with api.http.ws_connect(api.url("/api/v1/stream"), headers=_auth(api)) as ws:
        first = json.loads((await ws.receive()).data)
        assert first["topic"] == "snapshot"
        snap = first["payload"]
        assert {"lines", "presence", "calls", "pops", "contacts", "me", "daemon"} <= snap.keys()
        assert "201" in [line["extension"] for line in snap["lines"]] and snap["pops"] == []
        task, handle = await _ring(sim, InboundCall(raw, "Mikhail", extension="201", ring_s=3.0, talk_s=0.1))
        page = Page(ws)
        pop = await page.next("cti/agents/e-201/popup", type="popup")
        assert pop["call_id"] == handle.call_id and pop["customer"]["id"] == "c-00001"
        assert pop["v"] == 1 and pop["caller"]["raw"] == raw
        line = await page.next("cti/lines/201", status="ringing")
        assert line["call_id"] == handle.call_id
        await page.next("cti/lines/201", status="talking")
        task.cancel()


async def test_given_a_page_reconnects_while_201_rings_then_its_fresh_snapshot_holds_the_open_pop(
    api: Api, sim: Sim, seeded_sqlite: tuple[str, SeedSummary]
) -> None:
    raw = seeded_sqlite[1].known_numbers[0]
    async with api.http.ws_connect(api.url("/api/v1/stream"), headers=_auth(api)) as ws:
        await ws.receive()
        task, handle = await _ring(sim, InboundCall(raw, "", extension="201", ring_s=30.0, talk_s=0.1))
        await Page(ws).next("cti/agents/e-201/popup", type="popup")
    async with api.http.ws_connect(api.url("/api/v1/stream"), headers=_auth(api)) as again:
        snap = json.loads((await again.receive()).data)["payload"]
        assert [p["call_id"] for p in snap["pops"]] == [handle.call_id]
        assert snap["pops"][0]["customer"]["id"] == "c-00001"
        line = next(line for line in snap["lines"] if line["extension"] == "201")
        assert line["status"] == "ringing" and line["call_id"] == handle.call_id
        assert [c["call_id"] for c in snap["calls"]] == [handle.call_id]
    task.cancel()


async def test_given_no_token_then_the_stream_is_refused_before_the_upgrade(api: Api) -> None:
    status, body = await api.get("/api/v1/stream", token=None)
    assert status == 401 and body["error"]["code"] == "unauthorized"


def _upgrade_but_never_read(port: int, token: str) -> socket.socket:
    """A page that opens the stream and then reads nothing: a tiny receive buffer, never drained."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", port))
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall(
        (
            f"GET /api/v1/stream HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
            f"Authorization: Bearer {token}\r\n\r\n"
        ).encode()
    )
    return sock


async def test_given_a_page_that_stops_reading_then_it_is_cut_off_with_its_queue_bounded_and_counted(
    api: Api,
) -> None:
    hub = api.daemon.stream
    assert api.daemon.api.port is not None
    sock = _upgrade_but_never_read(api.daemon.api.port, api.token)
    try:
        for _ in range(100):
            if hub.connected == 1:
                break
            await asyncio.sleep(0.05)
        assert hub.connected == 1
        [slow] = list(hub._subscribers)
        text = "x" * 4000
        for n in range(5000):  # 20 MB if nothing were cut off
            api.daemon.outbound.notify(
                employee_id="e-201", kind="assigned", contact_id=f"k{n}", text=text, at=api.daemon.clock()
            )
            if n % 50 == 0:
                await asyncio.sleep(0.01)
            if slow.cut_off.is_set():
                break
        assert slow.cut_off.is_set(), "a page that reads nothing was never cut off"
        assert slow.high_water <= hub.queue_limit
        for _ in range(100):
            if hub.connected == 0:
                break
            await asyncio.sleep(0.05)
        assert hub.connected == 0 and hub.cut_off_total == 1
        async with api.http.get(api.url("/metrics")) as resp:
            metrics = await resp.text()
        assert "cti_stream_cut_off_total 1.0" in metrics
        assert "cti_stream_connections 0.0" in metrics
    finally:
        sock.close()


async def test_given_a_call_at_reception_then_the_desks_snapshot_names_its_customer_beside_the_call(
    api: Api, sim: Sim, seeded_sqlite: tuple[str, SeedSummary]
) -> None:
    """The console's board says who talks on a line, even after a reload (the pops may be gone by then)."""
    raw = seeded_sqlite[1].known_numbers[0]
    task, handle = await _ring(sim, InboundCall(raw, "", extension="100", ring_s=30.0, talk_s=0.1))
    _, customer = await api.get("/api/v1/customers/c-00001")

    async def registered() -> bool:
        _, found = await api.get(f"/api/v1/contacts?call_id={handle.call_id}")
        return bool(found["contacts"])

    await until_async(registered, what="the ring's contact")
    async with api.http.ws_connect(api.url("/api/v1/stream"), headers=_auth(api)) as ws:
        snap = json.loads((await ws.receive()).data)["payload"]
    (call,) = snap["calls"]
    assert call["call_id"] == handle.call_id
    assert call["customer"] == {"id": "c-00001", "name": customer["name"]}
    task.cancel()


async def test_given_two_employees_signed_in_when_201_rings_then_only_e201s_stream_carries_the_pop(
    api: Api, sim: Sim, seeded_sqlite: tuple[str, SeedSummary]
) -> None:
    db_url, seed = seeded_sqlite
    await give_passwords(db_url)
    async with page(api.base) as pavel, page(api.base) as irina:
        assert (await pavel.sign_in("porlov"))[0] == 200 and (await irina.sign_in("ivolkova"))[0] == 200
        origin = {"Origin": api.base}
        async with (
            pavel.http.ws_connect(api.url("/api/v1/stream"), headers=origin) as his,
            irina.http.ws_connect(api.url("/api/v1/stream"), headers=origin) as hers,
        ):
            his_page, her_page = Page(his), Page(hers)
            assert (await her_page.next("snapshot"))["me"]["employee_id"] == "e-202"
            call = InboundCall(seed.known_numbers[0], "", extension="201", ring_s=0.5, talk_s=0.2)
            task, handle = await _ring(sim, call)
            assert (await his_page.next("cti/agents/e-201/popup", type="popup"))["call_id"] == handle.call_id
            await asyncio.wait_for(task, 10)
            await her_page.next("cti/lines/201", status="ready")  # the whole call went by on her stream
        assert not [e for e in her_page.seen if "/agents/" in e["topic"] or "/calls/" in e["topic"]]


async def test_given_a_page_that_stops_answering_pings_then_the_heartbeat_closes_its_stream() -> None:
    hub = StreamHub(Topics("cti"), "n1")

    async def none() -> list[dict[str, Any]]:
        return []

    sources = StreamSources(lines=list, calls=list, contacts=lambda _v: none(), seat=lambda _e: _seat())

    @web.middleware
    async def as_token(request: web.Request, handler: Handler) -> web.StreamResponse:
        request[PRINCIPAL] = Principal("script", Role.ADMIN, None, "token")
        return await handler(request)

    app = web.Application(middlewares=[as_token])
    [route] = stream_routes(hub, sources, heartbeat_s=0.3)
    app.router.add_get(route.path, route.handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        async with (
            aiohttp.ClientSession() as http,
            http.ws_connect(f"http://127.0.0.1:{port}/api/v1/stream", autoping=False) as ws,
        ):
            assert json.loads((await ws.receive(timeout=5)).data)["topic"] == "snapshot"
            ping = await ws.receive(timeout=5)
            assert ping.type == aiohttp.WSMsgType.PING  # the server's heartbeat
            closed = await ws.receive(timeout=5)  # no pong from us: the server gives up on this page
            assert closed.type in (
                aiohttp.WSMsgType.CLOSE,
                aiohttp.WSMsgType.CLOSED,
                aiohttp.WSMsgType.CLOSING,
            )
        for _ in range(50):
            if hub.connected == 0:
                break
            await asyncio.sleep(0.05)
        assert hub.connected == 0
    finally:
        await runner.cleanup()


async def _seat() -> tuple[str | None, frozenset[str]]:
    return None, frozenset()

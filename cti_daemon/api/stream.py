"""GET /api/v1/stream: the live stream of a signed-in page (aiohttp's own WebSocket).

On connect, one `{"topic":"snapshot","payload":{...}}` with what this person may see (lines, presence,
calls in progress, their open pops, their open contacts and their customers' names); then every change as
`{"topic","payload"}` with the payloads the MQTT topics carry, filtered by role (`stream.audience`), and
`{"topic":"customer_names","payload":{"customers":{id:name}}}` before a contact whose customer the page
has not been told of. The server pings (aiohttp's
heartbeat) and a page that stops answering is closed; a page that stops reading is cut off by the hub
(close code 4008) and reconnects to a fresh snapshot. The page sends nothing; what it sends is ignored.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import WSMsgType, web

from cti_daemon import logs
from cti_daemon.api.principal import Principal, Role, principal_of
from cti_daemon.api.routes import Route
from cti_daemon.stream.audience import Viewer
from cti_daemon.stream.hub import StreamHub, Subscriber, envelope, visible_contacts

log = logs.get("cti.api.stream")

STREAM_PATH = "/api/v1/stream"
CLOSE_TOO_SLOW = 4008
_CLOSE_WAIT_S = 1.0


@dataclass(frozen=True, slots=True)
class StreamSources:
    """What a snapshot is made of, besides what the hub keeps (open pops, retained payloads)."""

    lines: Callable[[], list[dict[str, Any]]]  # every line, as its MQTT line payload
    calls: Callable[[], list[dict[str, Any]]]  # calls in progress, as GET /api/v1/calls shows them
    contacts: Callable[[Viewer], Awaitable[list[dict[str, Any]]]]  # open contacts, newest first
    seat: Callable[[str], Awaitable[tuple[str | None, frozenset[str]]]]  # employee -> extension, purposes


async def viewer_of(principal: Principal, sources: StreamSources) -> Viewer:
    if principal.role.covers(Role.RECEPTION) or principal.employee_id is None:
        return Viewer(principal.employee_id, sees_all=principal.role.covers(Role.RECEPTION))
    extension, purposes = await sources.seat(principal.employee_id)
    return Viewer(principal.employee_id, sees_all=False, extension=extension, purposes=purposes)


async def snapshot(hub: StreamHub, sub: Subscriber, sources: StreamSources) -> dict[str, Any]:
    viewer = sub.viewer
    retained = {line["extension"]: line for line in hub.retained("lines")}
    lines = [retained.pop(line["extension"], line) for line in sources.lines()]
    lines.extend(retained.values())
    calls = [
        c
        for c in sources.calls()
        if viewer.sees_all or (viewer.extension and viewer.extension in [*c["ringing"], *c["talking"]])
    ]
    contacts = visible_contacts(viewer, await sources.contacts(viewer))
    for contact in contacts:
        hub.remember_contact(sub, contact["id"])
    customers = {c["customer_id"] for c in contacts if isinstance(c.get("customer_id"), str)}
    names = await hub.names(customers)
    if viewer.sees_all:
        calls = _with_customers(calls, contacts, names)
    return {
        "v": 1,
        "me": {
            "employee_id": viewer.employee_id,
            "extension": viewer.extension,
            "purposes": sorted(viewer.purposes),
            "sees_all": viewer.sees_all,
        },
        "daemon": hub.retained("daemon"),
        "lines": sorted(lines, key=lambda line: str(line["extension"])),
        "presence": hub.retained("presence"),
        "calls": calls,
        "pops": hub.open_pops(viewer),
        "contacts": contacts,
        "customer_names": names,
    }


def _with_customers(
    calls: list[dict[str, Any]], contacts: list[dict[str, Any]], names: dict[str, str]
) -> list[dict[str, Any]]:
    """The desk's board names the caller beside a line that talks: each call whose contact names a
    customer gets `"customer": {"id","name"}` (an addition; null when the journal does not know one)."""
    by_contact = {c["id"]: c.get("customer_id") for c in contacts}
    by_call = {c["call_id"]: c.get("customer_id") for c in contacts if c.get("call_id")}
    out = []
    for call in calls:
        customer_id = by_contact.get(call.get("contact_id")) or by_call.get(call["call_id"])
        name = names.get(customer_id) if isinstance(customer_id, str) else None
        out.append({**call, "customer": {"id": customer_id, "name": name} if name else None})
    return out


def routes(hub: StreamHub, sources: StreamSources, *, heartbeat_s: float = 20.0) -> list[Route]:
    async def stream(request: web.Request) -> web.StreamResponse:
        principal = principal_of(request)  # a cookie's upgrade passed the Origin check (api.sessions)
        viewer = await viewer_of(principal, sources)
        ws = web.WebSocketResponse(heartbeat=heartbeat_s, max_msg_size=4096)
        await ws.prepare(request)
        _no_delay(request)
        sub = hub.subscribe(viewer)  # before the snapshot: what changes meanwhile follows it
        log.info(
            "stream.open", actor=principal.actor, employee_id=viewer.employee_id, connected=hub.connected
        )
        pump = asyncio.create_task(_pump(ws, sub, hub, sources), name="stream-pump")
        reader = asyncio.create_task(_drain(ws), name="stream-reader")
        cut = asyncio.create_task(sub.cut_off.wait(), name="stream-cut")
        try:
            await asyncio.wait({pump, reader, cut}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            hub.unsubscribe(sub)
            for task in (pump, reader, cut):
                task.cancel()
            for task in (pump, reader, cut):
                with contextlib.suppress(asyncio.CancelledError, ConnectionError, RuntimeError):
                    await task
            await _close(ws, request, too_slow=sub.cut_off.is_set())
            log.info("stream.closed", employee_id=viewer.employee_id, cut_off=sub.cut_off.is_set())
        return ws

    return [
        Route(
            "GET",
            STREAM_PATH,
            stream,
            "The live stream (WebSocket): a snapshot, then {topic, payload} envelopes filtered by role",
            {"101": {"description": "switching to the WebSocket protocol"}},
            tag="stream",
        )
    ]


def _no_delay(request: web.Request) -> None:
    """A ring sends a burst of small envelopes (the line, the call, the pop), one write each. With Nagle's
    algorithm on, each write after the first waits for the page's ACK of the one before, which a browser
    delays up to 40 ms: the pop, often third, came tens of ms late. aiohttp's server leaves it on."""
    sock = request.transport.get_extra_info("socket") if request.transport is not None else None
    if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


async def _pump(ws: web.WebSocketResponse, sub: Subscriber, hub: StreamHub, sources: StreamSources) -> None:
    await ws.send_str(envelope("snapshot", await snapshot(hub, sub, sources)))
    while True:
        await ws.send_str(await sub.queue.get())


async def _drain(ws: web.WebSocketResponse) -> None:
    async for msg in ws:
        if msg.type == WSMsgType.ERROR:
            return


async def _close(ws: web.WebSocketResponse, request: web.Request, *, too_slow: bool) -> None:
    code, why = (CLOSE_TOO_SLOW, b"too slow: reconnect for a fresh snapshot") if too_slow else (1000, b"")
    try:
        await asyncio.wait_for(ws.close(code=code, message=why), _CLOSE_WAIT_S)
    except (TimeoutError, ConnectionError, RuntimeError):
        # A page that reads nothing cannot take a close frame either: drop the connection.
        if request.transport is not None:
            request.transport.abort()

"""AMI events per second through the daemon's link and tracker, beside the raw limit, over loopback TCP.

A server process streams N events: calls of 26 events each, taken from the recorded Asterisk 22 call
b_inbound_answered (frames as recorded, ids renumbered per call): 10 call events (Newchannel x2, DialBegin,
Newstate x2, DialEnd, Hangup x2, DeviceStateChange x2) and 16 noise events (VarSet x12, Newexten x3, Cdr),
the noise share of the recordings. Three clients read the same bytes, one after the other:

- daemon: AmiLink (login, incremental UTF-8 framing, noise dropped before parsing) + CallTracker;
- raw: read and split on the blank line, nothing else (bytes.split on each read): the limit of this
  machine and Python; also, for context, a per-frame StreamReader.readuntil loop;
- panoramisk: panoramisk.Manager with a catch-all '*' callback.

Then, with no socket, the same bytes split, and framed, parsed and tracked with the parsing and the tracking
timed apart: the raw read plus the tracker's time bounds what a faster parser could ever give.

The server ignores Filter (as a PBX that does not honour it), so the noise arrives and is dropped on
arrival. Run: `make bench-ami` or `.venv/bin/python bench/ami_throughput.py [--events N]`.
The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import socket
import sys
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from cti_daemon import logs  # noqa: E402
from cti_daemon.ami.call_events import CallEnded  # noqa: E402
from cti_daemon.ami.directory import LineDirectory  # noqa: E402
from cti_daemon.ami.frames import AmiMessage, FrameReader, parse_frame  # noqa: E402
from cti_daemon.ami.link import AmiLink  # noqa: E402
from cti_daemon.ami.tracker import CallTracker  # noqa: E402
from cti_daemon.config import AmiConfig  # noqa: E402
from cti_daemon.secret import Secret  # noqa: E402

TRACE = ROOT / "tests" / "traces" / "asterisk-22" / "b_inbound_answered.ami"
PER_CALL = 26
SECRET = "bench-secret"
START = b"Event: BenchStart\r\nPrivilege: system,all\r\n\r\n"
DONE = b"Event: BenchDone\r\nPrivilege: system,all\r\n\r\n"
# The call's frames in recorded order: (event name, how many of them to take).
_PLAN = [
    ("Newchannel", 1), ("VarSet", 4), ("Newexten", 2), ("VarSet", 4), ("Newchannel", 1), ("VarSet", 2),
    ("Newexten", 1), ("DialBegin", 1), ("Newstate", 1), ("DeviceStateChange", 1), ("Newstate", 1),
    ("VarSet", 2), ("DialEnd", 1), ("Cdr", 1), ("Hangup", 2), ("DeviceStateChange", 1),
]  # fmt: skip


def call_template() -> list[bytes]:
    """26 frames of the recorded call, in order, with the call's ids as {A} {B} {TA} {TB} placeholders."""
    data = TRACE.read_bytes()
    frames = [f + b"\r\n\r\n" for f in data.split(b"\r\n\r\n")[1:] if f.startswith(b"Event: ")]
    by_event: dict[str, list[bytes]] = {}
    for frame in frames:
        msg = parse_frame(frame.decode()[:-4])
        if msg is None or (msg["Event"] == "DeviceStateChange" and b"Device: PJSIP/100\r\n" not in frame):
            continue  # reception's phone's device states only (not the trunk's, not the queue's)
        by_event.setdefault(msg["Event"], []).append(frame)
    out: list[bytes] = []
    used: dict[str, int] = {}
    for event, count in _PLAN:
        at = used.get(event, 0)
        out.extend(by_event[event][at : at + count])
        used[event] = at + count
    assert len(out) == PER_CALL, len(out)
    return [
        f.replace(b"1795423923.0\r\n", b"{A}\r\n")
        .replace(b"1795423923.1\r\n", b"{B}\r\n")
        .replace(b"PJSIP/trunk-00000000", b"PJSIP/trunk-{TA}")
        .replace(b"PJSIP/100-00000001", b"PJSIP/100-{TB}")
        for f in out
    ]


def build_stream(events: int) -> tuple[bytes, int]:
    template = b"".join(call_template())
    calls = -(-events // PER_CALL)
    parts = [START]
    parts.extend(
        template.replace(b"{A}", f"1800000000.{2 * i}".encode())
        .replace(b"{B}", f"1800000000.{2 * i + 1}".encode())
        .replace(b"{TA}", f"{2 * i:08x}".encode())
        .replace(b"{TB}", f"{2 * i + 1:08x}".encode())
        for i in range(calls)
    )
    parts.append(DONE)
    return b"".join(parts), calls


def offline_shares(stream: bytes) -> tuple[float, float, float]:
    """Seconds, medians of 3, for the same bytes with no socket: split into frames (the raw limit's work);
    then framing + parsing by the daemon's FrameReader and the tracker on each read's messages, timed apart
    in the same pass (a tracker fed a list parsed beforehand reads cold memory and looks slower than it is).
    The raw read plus the tracker bounds what any parser, however fast, could give link + tracker."""
    chunks = [stream[at : at + 262144] for at in range(0, len(stream), 262144)]
    drop = AmiConfig().event_filter

    def split() -> None:
        buf = b""
        for chunk in chunks:
            frames = (buf + chunk).split(b"\r\n\r\n")
            buf = frames.pop()

    def parse_then_track() -> tuple[float, float]:
        reader = FrameReader(drop_events=drop, expect_banner=False)
        handle = CallTracker(LineDirectory()).handle
        parsing = tracking = 0.0
        clock = time.perf_counter
        for chunk in chunks:
            started = clock()
            messages = reader.feed(chunk)
            parsed = clock()
            for msg in messages:
                handle(msg)
            parsing += parsed - started
            tracking += clock() - parsed
        return parsing, tracking

    splits = []
    for _ in range(3):
        started = time.perf_counter()
        split()
        splits.append(time.perf_counter() - started)
    runs = [parse_then_track() for _ in range(3)]
    return sorted(splits)[1], sorted(r[0] for r in runs)[1], sorted(r[1] for r in runs)[1]


def frame_costs(calls: int) -> tuple[float, float]:
    """(ns per noise frame dropped on arrival, ns per frame parsed): the same reader, fed only noise, then
    with nothing to drop."""
    frames = call_template()
    noise = b"".join(f for f in frames if f.startswith((b"Event: VarSet", b"Event: Newexten", b"Event: Cdr")))
    costs = []
    for drop in (AmiConfig().event_filter, []):
        reader = FrameReader(drop_events=drop, expect_banner=False)
        data = noise * calls
        started = time.perf_counter()
        for at in range(0, len(data), 262144):
            reader.feed(data[at : at + 262144])
        costs.append((time.perf_counter() - started) / (calls * 16) * 1e9)
    return costs[0], costs[1]


# --- the server process --------------------------------------------------------------------------------
def serve(port_out: Any, events: int) -> None:
    stream, _ = build_stream(events)
    listener = socket.create_server(("127.0.0.1", 0))
    port_out.send(listener.getsockname()[1])
    while True:
        conn, _ = listener.accept()
        threading.Thread(target=_session, args=(conn, stream), daemon=True).start()


def _session(conn: socket.socket, stream: bytes) -> None:
    lock = threading.Lock()
    conn.sendall(b"Asterisk Call Manager/11.0.0\r\n")
    buf = b""
    try:
        while True:
            data = conn.recv(65536)
            if not data:
                return
            buf += data
            *frames, buf = buf.split(b"\r\n\r\n")
            for frame in frames:
                fields = dict(line.split(": ", 1) for line in frame.decode().split("\r\n") if ": " in line)
                head = f"Response: Success\r\nActionID: {fields.get('ActionID', '')}\r\n"
                with lock:
                    conn.sendall(f"{head}Message: ok\r\n\r\n".encode())
                if fields.get("Action", "").lower() == "login":
                    threading.Thread(target=_stream, args=(conn, stream, lock), daemon=True).start()
    except OSError:
        return
    finally:
        conn.close()


def _stream(conn: socket.socket, stream: bytes, lock: threading.Lock) -> None:
    time.sleep(0.3)  # the client's Filter actions are answered first
    with lock:
        conn.sendall(stream)


# --- the clients ---------------------------------------------------------------------------------------
async def run_daemon(port: int) -> tuple[float, dict[str, int], int]:
    loop = asyncio.get_running_loop()
    tracker = CallTracker(LineDirectory())
    marks: dict[str, float] = {}
    done = asyncio.Event()
    ended = 0

    def on_event(msg: AmiMessage) -> None:
        nonlocal ended
        name = msg.get("Event")
        if name == "BenchStart":
            marks["start"] = loop.time()
        elif name == "BenchDone":
            marks["end"] = loop.time()
            done.set()
        for event in tracker.handle(msg):
            if isinstance(event, CallEnded):
                ended += 1

    cfg = AmiConfig(port=port, secret=Secret(SECRET), ping_interval_s=600.0, connect_timeout_s=10.0)
    async with AmiLink(cfg, on_event=on_event) as link:
        await asyncio.wait_for(done.wait(), 600)
        stats = link.stats()
    return marks["end"] - marks["start"], stats, ended


class _RawSplit(asyncio.Protocol):
    """Reads and splits into frames; nothing else (the frames are counted, to be sure all arrived)."""

    def __init__(self, done: asyncio.Future[float]) -> None:
        self.done = done
        self.buf = b""
        self.frames = 0
        self.start: float | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        transport.write(b"Action: Login\r\nActionID: 1\r\nUsername: cti\r\nSecret: x\r\n\r\n")

    def data_received(self, data: bytes) -> None:
        frames = (self.buf + data).split(b"\r\n\r\n")
        self.buf = frames.pop()
        self.frames += len(frames)
        if self.start is None and any(f.startswith(b"Event: BenchStart") for f in frames):
            self.start = asyncio.get_running_loop().time()
        if frames and frames[-1].startswith(b"Event: BenchDone") and not self.done.done():
            self.done.set_result(asyncio.get_running_loop().time() - (self.start or 0.0))


async def run_raw(port: int) -> tuple[float, int]:
    loop = asyncio.get_running_loop()
    done: asyncio.Future[float] = loop.create_future()
    transport, protocol = await loop.create_connection(lambda: _RawSplit(done), "127.0.0.1", port)
    try:
        return await asyncio.wait_for(done, 600), protocol.frames
    finally:
        transport.close()


async def run_readuntil(port: int) -> float:
    reader, writer = await asyncio.open_connection("127.0.0.1", port, limit=1 << 20)
    writer.write(b"Action: Login\r\nActionID: 1\r\nUsername: cti\r\nSecret: x\r\n\r\n")
    loop = asyncio.get_running_loop()
    start = 0.0
    try:
        while True:
            frame = await reader.readuntil(b"\r\n\r\n")
            if frame.startswith(b"Event: BenchStart"):
                start = loop.time()
            elif frame.startswith(b"Event: BenchDone"):
                return loop.time() - start
    finally:
        writer.close()


async def run_panoramisk(port: int) -> float:
    from panoramisk import Manager  # noqa: PLC0415 - the comparison only

    loop = asyncio.get_running_loop()
    marks: dict[str, float] = {}
    done = asyncio.Event()

    def everything(_manager: Any, message: Any) -> None:
        if message.event == "BenchStart":
            marks["start"] = loop.time()
        elif message.event == "BenchDone":
            marks["end"] = loop.time()
            done.set()

    manager = Manager(
        loop=loop,
        host="127.0.0.1",
        port=port,
        username="cti",
        secret=SECRET,
        ping_delay=600,
        ping_interval=600,
    )
    manager.register_event("*", everything)
    manager.connect()
    try:
        await asyncio.wait_for(done.wait(), 600)
    finally:
        manager.close()
    return marks["end"] - marks["start"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200_000)
    args = parser.parse_args()
    logs.configure(level="warning", fmt="json")
    ctx = multiprocessing.get_context("spawn")
    here, there = ctx.Pipe()
    server = ctx.Process(target=serve, args=(there, args.events), daemon=True)
    server.start()
    port = here.recv()
    events = -(-args.events // PER_CALL) * PER_CALL
    try:
        daemon_s, stats, ended = asyncio.run(run_daemon(port))
        raw_s, raw_frames = asyncio.run(run_raw(port))
        ru_s = asyncio.run(run_readuntil(port))
        pk_s = asyncio.run(run_panoramisk(port))
    finally:
        server.terminate()
    daemon_eps, raw_eps, pk_eps = events / daemon_s, events / raw_s, events / pk_s
    drop_ns, parse_ns = frame_costs(events // PER_CALL)
    calls = events // PER_CALL
    print(f"events: {events} ({calls} calls of {PER_CALL}, {16 / PER_CALL:.0%} noise), loopback TCP")
    print(
        f"daemon (link + tracker): {daemon_eps:12,.0f} events/s   {daemon_s:6.2f} s   ended {ended}/{calls}"
    )
    print(f"  link: {stats['messages']:,} parsed, {stats['dropped']:,} noise dropped unparsed")
    print(
        f"  a noise frame dropped on arrival costs {drop_ns:.0f} ns; the same frame parsed, {parse_ns:.0f} ns"
    )
    print(f"raw read + split (limit): {raw_eps:11,.0f} events/s   {raw_s:6.2f} s   frames: {raw_frames:,}")
    print(f"readuntil per frame:      {events / ru_s:11,.0f} events/s   {ru_s:6.2f} s")
    print(f"panoramisk Manager '*':   {pk_eps:11,.0f} events/s   {pk_s:6.2f} s")
    split_s, parse_s, track_s = offline_shares(build_stream(args.events)[0])
    print(
        f"same bytes, no socket (medians of 3): split {split_s:.3f} s; framing + parse {parse_s:.3f} s; "
        f"tracker {track_s:.3f} s"
    )
    bound = raw_s / (raw_s + track_s)
    print(
        f"  with a parser that cost nothing, link + tracker would still take the raw read ({raw_s:.3f} s) "
        f"+ the tracker: ratio_vs_raw <= {bound:.2f}"
    )
    ratio_raw, ratio_pk = daemon_eps / raw_eps, daemon_eps / pk_eps
    print(f"ratio vs raw: {ratio_raw:.2f} (target >= 0.30)   ratio vs panoramisk: {ratio_pk:.2f}")
    print(
        json.dumps(
            {
                "bench": "ami_throughput",
                "events": events,
                "daemon_eps": round(daemon_eps),
                "raw_split_eps": round(raw_eps),
                "panoramisk_eps": round(pk_eps),
                "ratio_vs_raw": round(ratio_raw, 3),
                "ratio_vs_panoramisk": round(ratio_pk, 3),
            }
        )
    )


if __name__ == "__main__":
    main()

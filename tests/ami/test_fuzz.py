"""Random and mutated frames: nothing escapes the reader, the tracker or the link, and the valid events
that follow are still understood.

100 examples of 100 frames (10,000 frames) go through the pure path the link uses (FrameReader, then
CallTracker.handle); then the same amount of seeded garbage goes over TCP through the real link."""

from __future__ import annotations

import asyncio
import random

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cti_daemon.ami.call_events import CallEnded, CallEvent, CallRinging, Party
from cti_daemon.ami.directory import LineDirectory
from cti_daemon.ami.frames import FrameReader
from cti_daemon.ami.link import AmiLink
from cti_daemon.ami.tracker import CallTracker
from cti_daemon.config import AmiConfig
from cti_daemon.secret import Secret
from tests.support.replay import ReplayServer, split_recording
from tests.support.traces import trace_bytes

VALID = "asterisk-22/b_inbound_answered"
VALID_CALL = "1795423923.0"
# Material for mutations: real frames from the other recordings (other call ids than VALID's).
FRAMES = [
    f
    for name in ("asterisk-22/d1_redirect", "asterisk-22/e_atxfer", "cacofonisk/xfer_attended__xfer_abbcac")
    for f in split_recording(trace_bytes(name)).frames
]
EVENTS = [
    "Newchannel", "Newstate", "NewCallerid", "NewConnectedLine", "DialBegin", "DialState", "DialEnd",
    "BridgeEnter", "BridgeLeave", "Hangup", "BlindTransfer", "AttendedTransfer", "DeviceStateChange",
    "ExtensionStatus", "ContactStatus", "PeerStatus", "Rename", "Hold", "VarSet",
]  # fmt: skip
HEADERS = [
    "Channel", "ChannelState", "Uniqueid", "Linkedid", "CallerIDNum", "CallerIDName", "ConnectedLineNum",
    "DestChannel", "DestUniqueid", "DestLinkedid", "DestChannelState", "DialStatus", "Cause", "Device",
    "State", "Exten", "Status", "Result", "TransfereeUniqueid", "OrigTransfererLinkedid", "Newname",
    "SecondTransfererLinkedid", "TransfererChannel", "Extension", "BridgeUniqueid", "ActionID", "Response",
]  # fmt: skip
_VALUES = st.one_of(
    st.sampled_from(
        ["", "0", "5", "6", "<unknown>", "PJSIP/100-00000001", "9.1", "9.0", "ANSWER", "Success", "26"]
    ),
    st.text(max_size=40),
)


@st.composite
def _made_up(draw: st.DrawFn) -> bytes:
    lines = [f"Event: {draw(st.sampled_from(EVENTS))}"]
    lines += [f"{draw(st.sampled_from(HEADERS))}: {draw(_VALUES)}" for _ in range(draw(st.integers(0, 12)))]
    return "\r\n".join(lines).encode("utf-8", errors="surrogatepass") + b"\r\n\r\n"


@st.composite
def _mutated(draw: st.DrawFn) -> bytes:
    frame = bytearray(draw(st.sampled_from(FRAMES))[:-4])
    kind = draw(st.sampled_from(["cut", "flip", "drop_line", "splice", "bad_utf8"]))
    at = draw(st.integers(0, max(len(frame) - 1, 0)))
    if kind == "cut":
        del frame[at:]
    elif kind == "flip" and frame:
        frame[at] = draw(st.integers(0, 255))
    elif kind == "drop_line":
        lines = bytes(frame).split(b"\r\n")
        del lines[at % len(lines)]
        frame = bytearray(b"\r\n".join(lines))
    elif kind == "splice":
        frame[at:at] = draw(st.binary(max_size=30))
    else:
        frame[at:at] = b"\xd0\xff\xfe\xc3"
    return bytes(frame) + b"\r\n\r\n"


_FRAME = st.one_of(st.binary(max_size=200).map(lambda b: b + b"\r\n\r\n"), _made_up(), _mutated())


def _valid_call(events: list[CallEvent]) -> tuple[list[CallRinging], list[CallEnded]]:
    ringing = [e for e in events if isinstance(e, CallRinging) and e.call_id == VALID_CALL]
    ended = [e for e in events if isinstance(e, CallEnded) and e.call_id == VALID_CALL]
    return ringing, ended


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)
@given(frames=st.lists(_FRAME, min_size=100, max_size=100), cuts=st.lists(st.integers(1, 4096), min_size=1))
def test_given_100_random_or_mutated_frames_then_nothing_escapes_and_a_valid_call_is_still_tracked(
    frames: list[bytes], cuts: list[int]
) -> None:
    reader = FrameReader(drop_events={"VarSet", "Newexten"})
    tracker = CallTracker(LineDirectory())
    stream = (
        b"Asterisk Call Manager/11.0.0\r\n"
        + b"".join(frames)
        + b"".join(split_recording(trace_bytes(VALID)).frames)
    )
    events: list[CallEvent] = []
    pos, i = 0, 0
    while pos < len(stream):  # reads of the sizes hypothesis chose, in turn
        step = cuts[i % len(cuts)]
        i += 1
        for msg in reader.feed(stream[pos : pos + step]):
            events.extend(tracker.handle(msg))
        pos += step
    ringing, ended = _valid_call(events)
    assert [(e.extension, e.caller) for e in ringing] == [("100", Party("+79161234567", "Ivan Petrov"))]
    assert [e.cause for e in ended] == [16]


async def test_given_10000_garbage_frames_over_tcp_then_the_link_stays_up_and_the_next_call_pops() -> None:
    rng = random.Random(7)
    garbage = [_seeded_garbage(rng) for _ in range(10_000)]
    valid = b"".join(split_recording(trace_bytes(VALID)).frames)
    tracker = CallTracker(LineDirectory())
    events: list[CallEvent] = []
    raw = b"".join(garbage) + valid
    async with ReplayServer(b"", chunk=1500, raw=raw) as replay:
        cfg = AmiConfig(port=replay.port, secret=Secret("secret"), ping_interval_s=5.0)
        async with AmiLink(cfg, on_event=lambda m: events.extend(tracker.handle(m))) as link:
            for _ in range(1000):
                if _valid_call(events)[1]:
                    break
                await asyncio.sleep(0.01)
            assert link.connected and link.sessions == 1
            assert link.stats()["malformed"] > 1000
    ringing, ended = _valid_call(events)
    assert [e.caller for e in ringing] == [Party("+79161234567", "Ivan Petrov")] and len(ended) == 1


def _seeded_garbage(rng: random.Random) -> bytes:
    choice = rng.random()
    if choice < 0.3:
        return (
            bytes(rng.getrandbits(8) for _ in range(rng.randrange(200))).replace(b"\r\n\r\n", b"")
            + b"\r\n\r\n"
        )
    frame = bytearray(rng.choice(FRAMES)[:-4])
    if choice < 0.6 and frame:
        for _ in range(rng.randrange(1, 5)):
            frame[rng.randrange(len(frame))] = rng.getrandbits(8)
    elif choice < 0.8:
        del frame[rng.randrange(len(frame) + 1) :]
    else:
        header = rng.choice(HEADERS)
        frame += f"\r\n{header}: {rng.choice(['', '<unknown>', 'Ж' * rng.randrange(50), '-1'])}".encode()
    return bytes(frame).replace(b"\r\n\r\n", b"\r\n") + b"\r\n\r\n"

"""Resync after a (re)login: the tracker corrected from Asterisk's lists, pure; then the session hook
against the simulator over TCP, including Asterisk's "not booted yet" answer."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

import pytest

from cti_daemon.ami.call_events import (
    CallAnswered,
    CallEnded,
    CallEvent,
    CallRinging,
    LineChanged,
    LineStatus,
    Party,
    QueueMembership,
    RingStopped,
)
from cti_daemon.ami.directory import LineDirectory
from cti_daemon.ami.frames import AmiMessage
from cti_daemon.ami.link import AmiLink
from cti_daemon.ami.resync import Resync
from cti_daemon.ami.simulator import lists, phones
from cti_daemon.ami.simulator.pbx import Headers, SimPbx
from cti_daemon.ami.simulator.scenarios import InboundCall, place_inbound
from cti_daemon.ami.simulator.server import AmiServer
from cti_daemon.ami.tracker import ENDED_UNSEEN, CallTracker
from cti_daemon.config import AmiConfig
from cti_daemon.secret import Secret
from tests.conftest import AMI_SECRET


def _items(headers: Iterable[Headers]) -> list[AmiMessage]:
    return [dict(h) for h in headers]


def _recorded(pbx: SimPbx) -> list[AmiMessage]:
    out: list[AmiMessage] = []
    pbx.listeners.append(lambda name, _p, headers: out.append({"Event": name, **dict(headers)}))
    return out


async def test_given_a_ringing_call_that_ended_unseen_then_resync_dismisses_it_and_ends_it() -> None:
    pbx = SimPbx()
    pbx.speed = 0.01
    live = _recorded(pbx)
    tracker = CallTracker(LineDirectory())
    task = asyncio.create_task(place_inbound(pbx, InboundCall("+79035556677", ring_s=10.0)))
    await asyncio.sleep(0.01)
    for msg in live:
        tracker.handle(msg)
    (call_id,) = tracker.calls
    pbx.quiet = True  # the link is down: the caller hangs up and nobody hears of it
    task.cancel()
    for chan in list(pbx.channels.values()):
        pbx.hangup(chan, 16)
    pbx.refresh_endpoint("100")
    events = tracker.resync(
        _items(lists.device_states(pbx)), _items(lists.hints(pbx)), _items(lists.channels(pbx))
    )
    ended = CallEnded(call_id, *ENDED_UNSEEN, Party("+79035556677", ""), "100")
    assert events[:2] == [RingStopped(call_id, "100", "ended"), ended]
    # 100 was ringing and is free again (its reception queue membership learnt from the live events); the
    # other lines are learnt for the first time.
    assert events[2:] == [
        LineChanged("100", LineStatus.READY, None, (QueueMembership("reception"),)),
        *(LineChanged(ext, LineStatus.READY, None) for ext in ("201", "202", "203")),
    ]
    assert tracker.calls == {} and tracker.channels == {}


async def test_given_calls_that_started_unseen_then_resync_adopts_them_a_ringing_one_pops() -> None:
    pbx = SimPbx()
    pbx.speed = 0.01
    pbx.quiet = True
    ringing = asyncio.create_task(
        place_inbound(pbx, InboundCall("+79035556677", "Anna", extension="201", ring_s=10))
    )
    talking = asyncio.create_task(
        place_inbound(pbx, InboundCall("+79161112233", extension="202", ring_s=0.1, talk_s=100))
    )
    await asyncio.sleep(0.05)
    tracker = CallTracker(LineDirectory())
    events = tracker.resync(
        _items(lists.device_states(pbx)), _items(lists.hints(pbx)), _items(lists.channels(pbx))
    )
    ring_call = next(c.linkedid for c in pbx.channels.values() if c.device == "PJSIP/201")
    talk_call = next(c.linkedid for c in pbx.channels.values() if c.device == "PJSIP/202")
    rang, answered = [e for e in events if not isinstance(e, LineChanged)]
    assert isinstance(rang, CallRinging) and rang.channel.startswith("PJSIP/201-")
    assert (rang.call_id, rang.extension, rang.caller) == (ring_call, "201", Party("+79035556677", "Anna"))
    assert answered == CallAnswered(talk_call, "202", Party("+79161112233", ""), adopted=True)
    lines = {e.extension: (e.status, e.call_id) for e in events if isinstance(e, LineChanged)}
    assert lines == {
        "100": (LineStatus.READY, None),
        "201": (LineStatus.RINGING, ring_call),
        "202": (LineStatus.TALKING, talk_call),
        "203": (LineStatus.READY, None),
    }
    views = {v.call_id: (v.ringing, v.talking) for v in tracker.call_views()}
    assert views == {ring_call: (("201",), ()), talk_call: ((), ("202",))}
    for task in (ringing, talking):
        task.cancel()
    pbx.cancel_flows()


def test_given_a_call_adopted_ringing_then_its_ring_says_how_long_it_rang_already_from_the_duration() -> None:
    tracker = CallTracker(LineDirectory())
    trunk = {"Channel": "PJSIP/trunk-00000000", "ChannelState": "4", "Uniqueid": "9.0", "Linkedid": "9.0"}
    leg = {"Channel": "PJSIP/100-00000001", "ChannelState": "5", "Uniqueid": "9.1", "Linkedid": "9.0"}
    events = tracker.resync(
        channels=[{**trunk, "Duration": "00:01:05"}, {**leg, "CallerIDNum": "100", "Duration": "00:01:04"}]
    )
    (rang,) = [e for e in events if isinstance(e, CallRinging)]
    assert (rang.extension, rang.rang_s) == ("100", 64.0), "adopted: not a new ring, 64 s old"
    live = {"Event": "Newstate", **leg, "Uniqueid": "8.1", "Linkedid": "8.0", "Channel": "PJSIP/201-00000002"}
    (ring,) = [e for e in tracker.handle(live) if isinstance(e, CallRinging)]
    assert ring.rang_s is None, "live news rings now"


def test_given_news_that_arrived_while_the_lists_were_on_their_way_then_the_news_wins() -> None:
    tracker = CallTracker(LineDirectory())
    snapshot = {"Channel": "PJSIP/201-00000001", "ChannelState": "5", "Uniqueid": "9.1", "Linkedid": "9.0"}
    trunk = {"Channel": "PJSIP/trunk-00000000", "ChannelState": "4", "Uniqueid": "9.0", "Linkedid": "9.0"}
    mark = tracker.mark()
    # While CoreShowChannels was answered: 201's leg hung up, and a new call rang 202.
    tracker.handle({"Event": "Newchannel", **trunk, "Uniqueid": "7.0", "Linkedid": "7.0"})
    tracker.handle(
        {
            "Event": "Newstate",
            "Channel": "PJSIP/202-00000002",
            "ChannelState": "5",
            "Uniqueid": "7.1",
            "Linkedid": "7.0",
        }
    )
    tracker.handle({"Event": "Newchannel", **snapshot})
    tracker.handle({"Event": "Hangup", **snapshot, "Cause": "16"})
    events = tracker.resync(
        channels=[trunk, snapshot], devices=[{"Device": "PJSIP/202", "State": "NOT_INUSE"}], since=mark
    )
    assert "9.1" not in tracker.channels  # not revived by the older list
    assert "7.1" in tracker.channels and "7.0" in tracker.calls  # not ended: it is newer than the list
    assert not [e for e in events if isinstance(e, CallEnded)]


async def test_given_asterisk_just_restarted_then_lines_wait_for_fully_booted_and_are_then_corrected() -> (
    None
):
    pbx = SimPbx()
    tracker = CallTracker(LineDirectory())
    submitted: list[CallEvent] = []
    resync = Resync(tracker, submitted.extend, boot_wait_s=5.0)
    phones.unregister(pbx, "203")
    async with AmiServer(pbx, secret=AMI_SECRET) as server:
        await server.stop()
        await server.start(booting=True)
        cfg = AmiConfig(port=server.port, secret=Secret(AMI_SECRET), ping_interval_s=1.0)
        async with AmiLink(
            cfg, on_event=lambda m: submitted.extend(tracker.handle(m)), on_session=resync
        ) as link:
            await link.wait_connected(5)
            await asyncio.sleep(0.3)
            assert resync.runs == 0  # channels done, lines waiting: DeviceStateList is not there yet
            assert not [e for e in submitted if isinstance(e, LineChanged)]
            server.finish_boot()
            for _ in range(200):
                if resync.runs:
                    break
                await asyncio.sleep(0.01)
    lines = {e.extension: e.status for e in submitted if isinstance(e, LineChanged)}
    assert lines == {
        "100": LineStatus.READY,
        "201": LineStatus.READY,
        "202": LineStatus.READY,
        "203": LineStatus.OFFLINE,
    }


async def test_given_a_user_not_allowed_the_channel_list_then_the_lines_are_still_corrected(
    capsys: pytest.CaptureFixture[str],
) -> None:
    pbx = SimPbx()
    tracker = CallTracker(LineDirectory())
    submitted: list[CallEvent] = []
    resync = Resync(tracker, submitted.extend)
    async with AmiServer(
        pbx, secret=AMI_SECRET, write=("call",)
    ) as server:  # no "system": no CoreShowChannels
        cfg = AmiConfig(port=server.port, secret=Secret(AMI_SECRET), ping_interval_s=1.0)
        async with AmiLink(
            cfg, on_event=lambda m: submitted.extend(tracker.handle(m)), on_session=resync
        ) as link:
            await link.wait_connected(5)
            for _ in range(200):
                if resync.runs:
                    break
                await asyncio.sleep(0.01)
    assert {e.extension for e in submitted if isinstance(e, LineChanged)} == {"100", "201", "202", "203"}
    logged = capsys.readouterr().err
    assert '"event": "ami.resync_list_refused"' in logged and "CoreShowChannels" in logged


async def test_given_asterisk_restarts_cleanly_mid_call_then_the_call_ends_and_the_link_comes_back() -> None:
    pbx = SimPbx()
    pbx.speed = 0.01
    tracker = CallTracker(LineDirectory())
    events: list[CallEvent] = []
    async with AmiServer(pbx, secret=AMI_SECRET) as server:
        cfg = AmiConfig(
            port=server.port, secret=Secret(AMI_SECRET), ping_interval_s=1.0, reconnect_max_delay_s=0.3
        )
        resync = Resync(tracker, events.extend)
        async with AmiLink(
            cfg, on_event=lambda m: events.extend(tracker.handle(m)), on_session=resync
        ) as link:
            await link.wait_connected(5)
            handle = await place_inbound(pbx, InboundCall("+79035556677", ring_s=0.1, talk_s=None))
            while tracker.call_view(handle.call_id) is None or not tracker.call_view(handle.call_id).talking:  # type: ignore[union-attr]
                await asyncio.sleep(0.01)
            await server.shut_down()
            while link.connected:
                await asyncio.sleep(0.01)
            assert [(e.call_id, e.cause) for e in events if isinstance(e, CallEnded)] == [(handle.call_id, 4)]
            await server.start(booting=True)
            await link.wait_connected(5)
            server.finish_boot()
            while resync.runs < 2:
                await asyncio.sleep(0.01)
    assert tracker.calls == {} and {v.status for v in tracker.line_views()} == {LineStatus.READY}


async def test_given_an_asterisk_without_app_queue_then_the_lines_are_corrected_without_queues(
    capsys: pytest.CaptureFixture[str],
) -> None:
    pbx = SimPbx()
    tracker = CallTracker(LineDirectory())
    submitted: list[CallEvent] = []
    resync = Resync(tracker, submitted.extend)
    async with AmiServer(pbx, secret=AMI_SECRET) as server:
        del server.actions["queuestatus"]  # "Invalid/unknown command", as without app_queue
        cfg = AmiConfig(port=server.port, secret=Secret(AMI_SECRET), ping_interval_s=1.0)
        async with AmiLink(
            cfg, on_event=lambda m: submitted.extend(tracker.handle(m)), on_session=resync
        ) as link:
            await link.wait_connected(5)
            for _ in range(200):
                if resync.runs:
                    break
                await asyncio.sleep(0.01)
    lines = {e.extension: (e.status, e.queues) for e in submitted if isinstance(e, LineChanged)}
    assert lines == dict.fromkeys(("100", "201", "202", "203"), (LineStatus.READY, ()))
    logged = capsys.readouterr().err
    assert '"event": "ami.resync_list_refused"' in logged and "QueueStatus" in logged


async def test_given_an_asterisk_that_never_answers_the_queue_list_then_the_lines_are_still_corrected(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A list that does not come in time (a huge app_queue, a PBX under load) costs that list, not the
    lines the other lists already told."""
    pbx = SimPbx()
    tracker = CallTracker(LineDirectory())
    submitted: list[CallEvent] = []
    resync = Resync(tracker, submitted.extend, list_timeout_s=0.3)
    async with AmiServer(pbx, secret=AMI_SECRET) as server:
        server.actions["queuestatus"] = lambda _session, _action: None  # asked, never answered
        cfg = AmiConfig(port=server.port, secret=Secret(AMI_SECRET), ping_interval_s=1.0)
        async with AmiLink(
            cfg, on_event=lambda m: submitted.extend(tracker.handle(m)), on_session=resync
        ) as link:
            await link.wait_connected(5)
            for _ in range(300):
                if resync.runs:
                    break
                await asyncio.sleep(0.01)
    assert resync.runs == 1
    lines = {e.extension: e.status for e in submitted if isinstance(e, LineChanged)}
    assert lines == dict.fromkeys(("100", "201", "202", "203"), LineStatus.READY)
    logged = capsys.readouterr().err
    assert '"event": "ami.resync_list_timeout"' in logged and "QueueStatus" in logged


async def test_given_members_of_two_queues_then_the_resync_reads_their_memberships_and_pauses() -> None:
    pbx = SimPbx()
    pbx.queues.pause("service", "PJSIP/201", paused=True, reason="training")
    tracker = CallTracker(LineDirectory())
    submitted: list[CallEvent] = []
    resync = Resync(tracker, submitted.extend)
    async with AmiServer(pbx, secret=AMI_SECRET) as server:
        cfg = AmiConfig(port=server.port, secret=Secret(AMI_SECRET), ping_interval_s=1.0)
        async with AmiLink(cfg, on_event=lambda m: None, on_session=resync) as link:
            await link.wait_connected(5)
            for _ in range(200):
                if resync.runs:
                    break
                await asyncio.sleep(0.01)
    queues = {e.extension: e.queues for e in submitted if isinstance(e, LineChanged)}
    assert queues == {
        "100": (QueueMembership("reception"),),
        "201": (QueueMembership("service", paused=True, reason="training"),),
        "202": (QueueMembership("service"),),
        "203": (),
    }

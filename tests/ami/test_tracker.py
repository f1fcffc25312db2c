"""The tracker on recorded Asterisk traffic and on the simulator's output: pure, no sockets."""

from __future__ import annotations

from typing import TypeVar

from cti_daemon.ami.call_events import (
    CallAnswered,
    CallEnded,
    CallerChanged,
    CallEvent,
    CallRinging,
    CallTransferred,
    DismissReason,
    LineChanged,
    LineStatus,
    Party,
    RingStopped,
)
from cti_daemon.ami.directory import LineDirectory, LineOwner
from cti_daemon.ami.frames import AmiMessage
from cti_daemon.ami.simulator.pbx import Headers, SimPbx
from cti_daemon.ami.tracker import CallTracker
from tests.support.traces import trace_messages

E = TypeVar("E")


def _replay(name: str, directory: LineDirectory | None = None) -> tuple[CallTracker, list[CallEvent]]:
    tracker = CallTracker(directory or LineDirectory())
    events = [e for m in trace_messages(name) if "Event" in m for e in tracker.handle(m)]
    return tracker, events


def _of(kind: type[E], events: list[CallEvent]) -> list[E]:
    return [e for e in events if isinstance(e, kind)]


def test_given_recorded_inbound_call_when_replayed_then_100_rings_from_the_caller_then_talks_then_ends() -> (
    None
):
    tracker, events = _replay("asterisk-22/b_inbound_answered")
    caller = Party("+79161234567", "Ivan Petrov")
    assert _of(CallRinging, events) == [CallRinging("1795423923.0", "100", caller, "PJSIP/100-00000001")]
    assert _of(CallAnswered, events) == [CallAnswered("1795423923.0", "100", caller)]
    assert _of(CallEnded, events) == [CallEnded("1795423923.0", 16, "Normal Clearing", caller, "100")]
    assert [(e.status, e.call_id) for e in _of(LineChanged, events)] == [
        (LineStatus.RINGING, "1795423923.0"),
        (LineStatus.RINGING, "1795423923.0"),  # + 100's membership of queue reception (QueueMemberStatus)
        (LineStatus.TALKING, "1795423923.0"),
        (LineStatus.READY, None),
    ]
    assert tracker.calls == {} and tracker.channels == {}


def test_given_recorded_abandoned_call_then_the_pop_is_dismissed_as_ended() -> None:
    _, events = _replay("asterisk-22/c_inbound_abandoned")
    assert _of(RingStopped, events) == [RingStopped("1795423934.2", "100", "ended")]
    caller = Party("+79161234567", "Ivan Petrov")
    ended = CallEnded("1795423934.2", 127, "Interworking, unspecified", caller, "100")
    assert _of(CallEnded, events) == [ended]
    assert _of(CallAnswered, events) == []


def test_given_100_ringing_when_the_daemon_deflects_the_caller_then_100s_pop_closes_as_transferred() -> None:
    # The legs of a Redirected ringing caller end as an abandoned call's do (DialEnd CANCEL, Hangup): only
    # the daemon, which asked for the Redirect, knows; a Redirect the PBX refused takes the mark back.
    cases: tuple[tuple[bool, DismissReason], ...] = ((False, "transferred"), (True, "ended"))
    for refused, reason in cases:
        tracker = CallTracker(LineDirectory())
        events: list[CallEvent] = []
        for msg in trace_messages("asterisk-22/c_inbound_abandoned"):
            if "Event" not in msg:
                continue
            news = tracker.handle(msg)
            events += news
            for ringing in _of(CallRinging, news):
                tracker.expect_deflection(ringing.call_id)
                if refused:
                    tracker.forget_deflection(ringing.call_id)
        assert _of(RingStopped, events) == [RingStopped("1795423934.2", "100", reason)]


def test_given_reception_unregistered_then_nothing_rings_and_the_call_ends_with_no_route() -> None:
    _, events = _replay("asterisk-22/c2_reception_unavailable")
    assert _of(CallRinging, events) == []
    assert [(e.cause, e.cause_text) for e in _of(CallEnded, events)] == [(3, "No route to destination")]


def test_given_cyrillic_caller_name_then_the_ringing_carries_it_intact() -> None:
    _, events = _replay("asterisk-22/b_inbound_answered_cyrillic")
    assert [e.caller for e in _of(CallRinging, events)] == [Party("+79161234567", "Иван Петров")]


def test_given_registration_trace_then_lines_follow_device_states() -> None:
    _, events = _replay("asterisk-22/a_registration")
    assert [(e.extension, e.status) for e in _of(LineChanged, events)] == [
        ("100", LineStatus.READY),
        ("100", LineStatus.READY),  # + its membership of queue reception, learnt from QueueMemberStatus
        ("201", LineStatus.READY),
        ("201", LineStatus.OFFLINE),
        ("100", LineStatus.OFFLINE),
        ("100", LineStatus.READY),
    ]


class _Recorder:
    def __init__(self, pbx: SimPbx) -> None:
        self.messages: list[AmiMessage] = []
        pbx.listeners.append(self)

    def __call__(self, name: str, privilege: str, headers: Headers) -> None:
        self.messages.append({"Event": name, "Privilege": privilege, **dict(headers)})


def test_given_an_extension_with_two_devices_when_both_ring_then_one_ringing_and_one_answer() -> None:
    pbx = SimPbx()
    rec = _Recorder(pbx)
    trunk = pbx.new_channel(
        "PJSIP/trunk",
        caller_num="+79035556677",
        caller_name="",
        context="from-trunk",
        exten="74950001122",
        state=4,
    )
    desk = pbx.new_channel(
        "PJSIP/201",
        caller_num="201",
        caller_name="Staff",
        context="internal",
        exten="s",
        state=0,
        linkedid=trunk.linkedid,
    )
    soft = pbx.new_channel(
        "SIP/softphone-201",
        caller_num="201",
        caller_name="Staff",
        context="internal",
        exten="s",
        state=0,
        linkedid=trunk.linkedid,
    )
    for dest in (desk, soft):
        pbx.dial_begin(trunk, dest, "201")
        pbx.set_state(dest, 5)
    pbx.set_state(soft, 6)
    pbx.dial_end(trunk, desk, "CANCEL")
    pbx.hangup(desk, 26)
    pbx.dial_end(trunk, soft, "ANSWER")
    directory = LineDirectory([LineOwner("e-201", "201", ("PJSIP/201", "SIP/softphone-201"))])
    tracker = CallTracker(directory)
    events = [e for m in rec.messages for e in tracker.handle(m)]
    assert [e.extension for e in _of(CallRinging, events)] == ["201"]
    assert [e.extension for e in _of(CallAnswered, events)] == ["201"]
    assert _of(RingStopped, events) == []


def test_given_two_extensions_ringing_when_one_answers_then_the_other_is_told_answered_elsewhere() -> None:
    pbx = SimPbx()
    rec = _Recorder(pbx)
    trunk = pbx.new_channel(
        "PJSIP/trunk",
        caller_num="+79035556677",
        caller_name="",
        context="from-trunk",
        exten="74950001122",
        state=4,
    )
    a = pbx.new_channel(
        "PJSIP/201",
        caller_num="201",
        caller_name="",
        context="internal",
        exten="s",
        state=0,
        linkedid=trunk.linkedid,
    )
    b = pbx.new_channel(
        "PJSIP/202",
        caller_num="202",
        caller_name="",
        context="internal",
        exten="s",
        state=0,
        linkedid=trunk.linkedid,
    )
    pbx.dial_begin(trunk, a, "201&202")
    pbx.dial_begin(trunk, b, "201&202")
    pbx.set_state(a, 5)
    pbx.set_state(b, 5)
    pbx.set_state(a, 6)
    pbx.dial_end(trunk, b, "CANCEL")
    pbx.dial_end(trunk, a, "ANSWER")
    pbx.hangup(b, 26)
    tracker = CallTracker(LineDirectory())
    events = [e for m in rec.messages for e in tracker.handle(m)]
    assert sorted(e.extension for e in _of(CallRinging, events)) == ["201", "202"]
    assert _of(RingStopped, events) == [RingStopped(trunk.linkedid, "202", "answered_elsewhere")]


def test_given_events_for_unknown_channels_then_nothing_breaks_and_nothing_is_invented() -> None:
    tracker = CallTracker(LineDirectory())
    assert tracker.handle({"Event": "Hangup", "Uniqueid": "nope", "Cause": "16"}) == []
    assert tracker.handle({"Event": "DialEnd", "DialStatus": "ANSWER"}) == []
    assert (
        tracker.handle(
            {"Event": "Newstate", "Channel": "PJSIP/100-1", "Uniqueid": "9.9", "ChannelState": "x"}
        )
        == []
    )
    assert tracker.handle({"Event": "DeviceStateChange", "Device": "PJSIP/trunk", "State": "INUSE"}) == []


def _snapshot(uid: str, linkedid: str, channel: str, state: str, **ids: str) -> AmiMessage:
    return {"Channel": channel, "ChannelState": state, "Uniqueid": uid, "Linkedid": linkedid, **ids}


def test_given_a_ringing_call_when_the_callers_id_changes_then_the_ringing_pop_is_updated() -> None:
    tracker = CallTracker(LineDirectory())
    trunk = _snapshot("5.0", "5.0", "PJSIP/trunk-00000000", "4", CallerIDNum="89161234567", CallerIDName="")
    tracker.handle({"Event": "Newchannel", **trunk})
    rang = tracker.handle(
        {"Event": "Newstate", **_snapshot("5.1", "5.0", "PJSIP/201-00000001", "5", CallerIDNum="201")}
    )
    assert _of(CallRinging, rang)[0].caller == Party("89161234567", "")
    changed = tracker.handle({"Event": "NewCallerid", **trunk, "CallerIDName": "Иван"})
    assert changed == [CallerChanged("5.0", Party("89161234567", "Иван"), ("201",))]
    assert tracker.handle({"Event": "NewCallerid", **trunk, "CallerIDName": ""}) == []  # the name stays


def test_given_a_call_adopted_mid_way_when_the_phones_connected_line_changes_then_the_pop_follows_it() -> (
    None
):
    tracker = CallTracker(LineDirectory())
    leg = _snapshot("6.1", "6.0", "PJSIP/202-00000001", "5", CallerIDNum="202", ConnectedLineNum="100")
    rang = tracker.handle({"Event": "Newstate", **leg, "ConnectedLineName": "Reception"})
    assert _of(CallRinging, rang)[0].caller == Party("100", "Reception")  # the first channel was never seen
    changed = tracker.handle(
        {"Event": "NewConnectedLine", **leg, "ConnectedLineNum": "+79161234567", "ConnectedLineName": "Ivan"}
    )
    assert changed == [CallerChanged("6.0", Party("+79161234567", "Ivan"), ("202",))]


def test_given_list_items_among_live_events_then_the_tracker_takes_no_news_from_them() -> None:
    tracker = CallTracker(LineDirectory())
    item = {"Event": "DeviceStateChange", "ActionID": "f_lists-2", "Device": "PJSIP/100", "State": "INUSE"}
    assert tracker.handle(item) == []
    assert tracker.line_views() == []


def test_given_a_redirected_call_then_its_view_names_the_caller_and_the_new_transferer_channel() -> None:
    _, events = _replay("asterisk-22/d1_redirect")
    tracker = CallTracker(LineDirectory())
    views: list[tuple[str, ...]] = []
    for msg in trace_messages("asterisk-22/d1_redirect"):
        if "Event" in msg:
            tracker.handle(msg)
            view = tracker.call_view("1795423948.5")
            if view is not None and view.talking and (not views or views[-1] != view.talking):
                views.append(view.talking)
                assert view.caller == Party("+79161234567", "Ivan Petrov")
                assert view.caller_channel == "PJSIP/trunk-00000005"
                assert view.transferer_channel == view.channel_of(view.talking[0])
    assert views == [("100",), ("201",)]
    assert _of(CallTransferred, events) == [CallTransferred("1795423948.5", "redirect", "100", "201")]


def test_given_the_only_channel_of_a_call_moves_to_another_call_then_the_emptied_call_ends_as_merged() -> (
    None
):
    tracker = CallTracker(LineDirectory())
    tracker.handle(
        {"Event": "Newchannel", **_snapshot("8.0", "8.0", "PJSIP/trunk-00000000", "6", CallerIDNum="1")}
    )
    tracker.handle({"Event": "Newchannel", **_snapshot("9.5", "9.5", "Local/201@internal-00000000;2", "6")})
    moved = tracker.handle(
        {"Event": "Newstate", **_snapshot("9.5", "8.0", "Local/201@internal-00000000;2", "6")}
    )
    assert moved == [CallEnded("9.5", 0, "merged into call 8.0")]
    assert sorted(tracker.calls) == ["8.0"] and tracker.calls["8.0"].channels == {"8.0", "9.5"}


def test_given_a_blind_transfer_under_way_then_the_view_says_so_until_the_target_answers() -> None:
    tracker = CallTracker(LineDirectory())
    seen: list[tuple[bool, str | None, tuple[str, ...]]] = []
    for msg in trace_messages("asterisk-22/d2_blindtransfer"):
        if "Event" in msg:
            tracker.handle(msg)
            view = tracker.call_view("1795423965.8")
            if view is not None:
                state = (view.transferring, view.transfer_target, view.talking)
                if not seen or seen[-1] != state:
                    seen.append(state)
    assert seen == [(False, None, ()), (False, None, ("100",)), (True, "201", ()), (False, None, ("201",))]


def test_given_a_ringing_leg_renamed_onto_another_phone_then_the_first_pop_closes_and_the_other_pops() -> (
    None
):
    tracker = CallTracker(LineDirectory())
    trunk = _snapshot("7.0", "7.0", "PJSIP/trunk-00000000", "4", CallerIDNum="89161234567", CallerIDName="")
    tracker.handle({"Event": "Newchannel", **trunk})
    leg = _snapshot("7.1", "7.0", "PJSIP/201-00000001", "5", CallerIDNum="201")
    assert _of(CallRinging, tracker.handle({"Event": "Newstate", **leg}))[0].extension == "201"
    moved = tracker.handle({"Event": "Rename", **leg, "Newname": "PJSIP/202-00000002"})
    assert _of(RingStopped, moved) == [RingStopped("7.0", "201", "answered_elsewhere")]
    assert [(e.extension, e.caller) for e in _of(CallRinging, moved)] == [("202", Party("89161234567", ""))]
    view = tracker.call_view("7.0")
    assert view is not None and view.ringing == ("202",)

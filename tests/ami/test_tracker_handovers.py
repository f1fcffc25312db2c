"""The tracker on pickups, transfers made by the caller's own side, blonde and cancelled attended transfers,
fed plain AMI dicts shaped on tests/traces/asterisk-22-batch3 (pure, no sockets)."""

from __future__ import annotations

from cti_daemon.ami.call_events import (
    CallAnswered,
    CallEnded,
    CallerChanged,
    CallEvent,
    CallRinging,
    CallTransferred,
    LineChanged,
    Party,
    RingStopped,
)
from cti_daemon.ami.directory import LineDirectory
from cti_daemon.ami.frames import AmiMessage
from cti_daemon.ami.tracker import CallTracker

CALLER = Party("+79161234567", "Ivan Petrov")


def _chan(uid: str, linkedid: str, channel: str, state: str, num: str, name: str = "") -> AmiMessage:
    return {
        "Channel": channel,
        "ChannelState": state,
        "Uniqueid": uid,
        "Linkedid": linkedid,
        "CallerIDNum": num,
        "CallerIDName": name,
    }


def _dest(msg: AmiMessage) -> AmiMessage:
    return {f"Dest{key}": value for key, value in msg.items()}


def _calls(events: list[CallEvent]) -> list[CallEvent]:
    return [e for e in events if not isinstance(e, LineChanged)]


def _ringing_at_100(tracker: CallTracker) -> AmiMessage:
    trunk = _chan("1.0", "1.0", "PJSIP/trunk-00000000", "4", CALLER.number, CALLER.name)
    tracker.handle({"Event": "Newchannel", **trunk})
    tracker.handle({"Event": "Newchannel", **_chan("1.1", "1.0", "PJSIP/100-00000001", "0", "100")})
    tracker.handle({"Event": "Newstate", **_chan("1.1", "1.0", "PJSIP/100-00000001", "5", "100")})
    return trunk


def test_given_100_ringing_when_201_picks_it_up_then_201_answers_with_the_caller_and_100_is_dismissed() -> (
    None
):
    tracker = CallTracker(LineDirectory())
    trunk = _ringing_at_100(tracker)
    picker = _chan("2.2", "2.2", "PJSIP/201-00000002", "6", "201", "Staff 201")
    tracker.handle({"Event": "Newchannel", **picker})  # 201 dials **100: a call of its own, Up at once
    picked = tracker.handle(
        {"Event": "Pickup", **picker, "TargetUniqueid": "1.1", "TargetChannel": "PJSIP/100-00000001"}
    )
    assert _calls(picked) == [
        CallRinging("1.0", "201", CALLER, "PJSIP/201-00000002"),
        CallAnswered("1.0", "201", CALLER),
        RingStopped("1.0", "100", "answered_elsewhere"),
    ]
    # The caller's DialEnd names the picker, whose events still carry its own linkedid until it is bridged:
    # neither moves it back nor ends its former call as "merged".
    later = tracker.handle({"Event": "DialEnd", **trunk, **_dest(picker), "DialStatus": "ANSWER"})
    later += tracker.handle({"Event": "BridgeEnter", **picker, "BridgeUniqueid": "b1"})
    later += tracker.handle({"Event": "Hangup", **_chan("1.1", "1.0", "PJSIP/100-00000001", "5", "100"),
                             "Cause": "26", "Cause-txt": "Answered elsewhere"})  # fmt: skip
    assert _calls(later) == []
    assert sorted(tracker.calls) == ["1.0"]
    view = tracker.call_view("1.0")
    assert view is not None and view.talking == ("201",) and view.ringing == ()


def test_given_a_pickup_seen_only_in_the_callers_dialend_then_the_picker_answers_all_the_same() -> None:
    tracker = CallTracker(LineDirectory())
    trunk = _ringing_at_100(tracker)
    picker = _chan("2.5", "2.5", "PJSIP/202-00000005", "6", "202", "Staff 202")
    tracker.handle({"Event": "Newchannel", **picker})
    answered = tracker.handle({"Event": "DialEnd", **trunk, **_dest(picker), "DialStatus": "ANSWER"})
    assert [(type(e).__name__, getattr(e, "extension", None)) for e in _calls(answered)] == [
        ("CallRinging", "202"),
        ("CallAnswered", "202"),
        ("RingStopped", "100"),
    ]
    assert "2.5" not in tracker.calls


def _internal_call_201_to_202(tracker: CallTracker) -> None:
    tracker.handle(
        {"Event": "Newchannel", **_chan("3.6", "3.6", "PJSIP/201-00000006", "4", "201", "Staff 201")}
    )
    tracker.handle(
        {"Event": "Newstate", **_chan("3.7", "3.6", "PJSIP/202-00000007", "5", "202", "Staff 202")}
    )
    tracker.handle(
        {"Event": "Newstate", **_chan("3.7", "3.6", "PJSIP/202-00000007", "6", "202", "Staff 202")}
    )


def test_given_201_calls_202_when_201_blind_transfers_202_to_203_then_203_sees_202_and_202_sees_203() -> None:
    tracker = CallTracker(LineDirectory())
    _internal_call_201_to_202(tracker)
    transfer = {
        "Event": "BlindTransfer",
        "Result": "Success",
        "TransfererChannel": "PJSIP/201-00000006",
        "TransfererUniqueid": "3.6",
        "TransfereeChannel": "PJSIP/202-00000007",
        "TransfereeUniqueid": "3.7",
        "TransfereeLinkedid": "3.6",
        "TransfereeCallerIDNum": "202",
        "TransfereeCallerIDName": "Staff 202",
        "Extension": "203",
    }
    assert _calls(tracker.handle(transfer)) == [CallTransferred("3.6", "blind", "201", "203")]
    tracker.handle(
        {"Event": "Hangup", **_chan("3.6", "3.6", "PJSIP/201-00000006", "6", "201"), "Cause": "16"}
    )
    b_leg = _chan("3.7", "3.6", "PJSIP/202-00000007", "6", "202", "Staff 202")
    connected = tracker.handle(
        {"Event": "NewConnectedLine", **b_leg, "ConnectedLineNum": "203", "ConnectedLineName": "Staff 203"}
    )
    assert connected == [CallerChanged("3.6", Party("203", "Staff 203"), ("202",))]
    rang = tracker.handle({"Event": "Newstate", **_chan("3.8", "3.6", "PJSIP/203-00000008", "5", "203")})
    assert _calls(rang) == [CallRinging("3.6", "203", Party("202", "Staff 202"), "PJSIP/203-00000008")]


def test_given_reception_hangs_up_while_the_consulted_201_rings_then_the_transfer_names_201() -> None:
    tracker = CallTracker(LineDirectory())
    _ringing_at_100(tracker)
    tracker.handle({"Event": "Newstate", **_chan("1.1", "1.0", "PJSIP/100-00000001", "6", "100")})
    tracker.handle({"Event": "Newstate", **_chan("1.3", "1.0", "PJSIP/201-00000003", "5", "201")})
    blonde = {  # Asterisk sends no TransferTarget* fields while the target still rings
        "Event": "AttendedTransfer",
        "Result": "Success",
        "OrigTransfererChannel": "PJSIP/100-00000001",
        "OrigTransfererUniqueid": "1.1",
        "SecondTransfererUniqueid": "1.1",
        "SecondTransfererLinkedid": "1.0",
        "TransfereeChannel": "PJSIP/trunk-00000000",
        "TransfereeUniqueid": "1.0",
        "TransfereeLinkedid": "1.0",
        "TransfereeCallerIDNum": CALLER.number,
        "DestType": "Bridge",
    }
    assert _calls(tracker.handle(blonde)) == [
        CallTransferred("1.0", "attended", "100", "201"),
        RingStopped("1.0", "100", "transferred"),
    ]
    answered = tracker.handle({"Event": "Newstate", **_chan("1.3", "1.0", "PJSIP/201-00000003", "6", "201")})
    assert _calls(answered) == [CallAnswered("1.0", "201", CALLER)]


def test_given_an_answered_consultation_when_its_target_leaves_before_the_transfer_then_its_pop_closes() -> (
    None
):
    tracker = CallTracker(LineDirectory())
    _ringing_at_100(tracker)
    tracker.handle({"Event": "Newstate", **_chan("1.1", "1.0", "PJSIP/100-00000001", "6", "100")})
    tracker.handle({"Event": "Newstate", **_chan("1.3", "1.0", "PJSIP/201-00000003", "5", "201")})
    tracker.handle({"Event": "Newstate", **_chan("1.3", "1.0", "PJSIP/201-00000003", "6", "201")})
    gone = _chan("1.3", "1.0", "PJSIP/201-00000003", "6", "201")
    cancelled = tracker.handle({"Event": "Hangup", **gone, "Cause": "16", "Cause-txt": "Normal Clearing"})
    assert _calls(cancelled) == [RingStopped("1.0", "201", "transfer_cancelled")]
    view = tracker.call_view("1.0")
    assert view is not None and view.talking == ("100",)


def test_given_a_consultation_still_ringing_when_it_is_cancelled_then_its_pop_closes_as_cancelled() -> None:
    tracker = CallTracker(LineDirectory())
    _ringing_at_100(tracker)
    tracker.handle({"Event": "Newstate", **_chan("1.1", "1.0", "PJSIP/100-00000001", "6", "100")})
    tracker.handle({"Event": "Newstate", **_chan("1.3", "1.0", "PJSIP/201-00000003", "5", "201")})
    gone = _chan("1.3", "1.0", "PJSIP/201-00000003", "5", "201")
    cancelled = tracker.handle({"Event": "Hangup", **gone, "Cause": "16", "Cause-txt": "Normal Clearing"})
    assert _calls(cancelled) == [RingStopped("1.0", "201", "transfer_cancelled")]


def test_given_an_answered_call_when_it_ends_then_the_end_names_the_caller_and_the_extension() -> None:
    tracker = CallTracker(LineDirectory())
    _ringing_at_100(tracker)
    tracker.handle({"Event": "Newstate", **_chan("1.1", "1.0", "PJSIP/100-00000001", "6", "100")})
    tracker.handle(
        {"Event": "Hangup", **_chan("1.1", "1.0", "PJSIP/100-00000001", "6", "100"), "Cause": "16"}
    )
    ended = tracker.handle(
        {"Event": "Hangup", **_chan("1.0", "1.0", "PJSIP/trunk-00000000", "6", CALLER.number), "Cause": "16"}
    )
    assert _calls(ended) == [CallEnded("1.0", 16, "", CALLER, "100")]


def test_given_click_to_dial_when_the_employees_phone_rings_then_its_pop_names_the_number_dialled() -> None:
    tracker = CallTracker(LineDirectory())
    tracker.expect_origination("c2d-1", "+79035550101")
    tracker.handle({"Event": "Newchannel", **_chan("c2d-1", "c2d-1", "PJSIP/201-00000014", "0", "201")})
    rang = tracker.handle(
        {"Event": "Newstate", **_chan("c2d-1", "c2d-1", "PJSIP/201-00000014", "5", "201", "Click2Call")}
    )
    assert _calls(rang) == [
        CallRinging("c2d-1", "201", Party("+79035550101", ""), "PJSIP/201-00000014", outbound=True)
    ]


def test_given_a_clicked_to_dial_customer_when_the_employee_transfers_them_then_202_sees_the_customer() -> (
    None
):
    tracker = CallTracker(LineDirectory())
    tracker.expect_origination("c2d-2", "+79035550101")
    employee = _chan("c2d-2", "c2d-2", "PJSIP/201-00000014", "5", "201", "Click2Call")
    tracker.handle({"Event": "Newstate", **employee})
    tracker.handle({"Event": "Newstate", **employee, "ChannelState": "6"})
    # Asterisk gives the outbound leg the employee's own caller id (Dial guesses it from the connected line).
    far = _chan("c2d-3", "c2d-2", "PJSIP/trunk-00000015", "6", "201", "Click2Call")
    tracker.handle({"Event": "Newstate", **far})
    transfer = {
        "Event": "BlindTransfer",
        "Result": "Success",
        "TransfererChannel": employee["Channel"],
        "TransfererUniqueid": "c2d-2",
        "TransfereeChannel": far["Channel"],
        "TransfereeUniqueid": "c2d-3",
        "TransfereeLinkedid": "c2d-2",
        "TransfereeCallerIDNum": "201",
        "TransfereeCallerIDName": "Click2Call",
        "Extension": "202",
    }
    assert _calls(tracker.handle(transfer)) == [
        CallTransferred("c2d-2", "blind", "201", "202"),
        RingStopped("c2d-2", "201", "transferred"),  # the employee's own pop has done its job
    ]
    rang = tracker.handle({"Event": "Newstate", **_chan("c2d-4", "c2d-2", "PJSIP/202-00000016", "5", "202")})
    assert _calls(rang) == [CallRinging("c2d-2", "202", Party("+79035550101", ""), "PJSIP/202-00000016")]


def test_given_a_consultation_that_did_not_answer_when_its_leg_hangs_up_then_one_dismissal_only() -> None:
    tracker = CallTracker(LineDirectory())
    trunk = _ringing_at_100(tracker)
    tracker.handle({"Event": "Newstate", **_chan("1.1", "1.0", "PJSIP/100-00000001", "6", "100")})
    leg = _chan("1.3", "1.0", "PJSIP/201-00000003", "5", "201")
    tracker.handle({"Event": "Newstate", **leg})
    no_answer = tracker.handle({"Event": "DialEnd", **trunk, **_dest(leg), "DialStatus": "NOANSWER"})
    gone = tracker.handle({"Event": "Hangup", **leg, "Cause": "16", "Cause-txt": "Normal Clearing"})
    assert [e for e in _calls(no_answer + gone) if isinstance(e, RingStopped)] == [
        RingStopped("1.0", "201", "answered_elsewhere")  # the transferer still talks with the caller
    ]


def test_given_a_ring_group_loser_that_rang_after_the_answer_then_it_is_answered_elsewhere() -> None:
    tracker = CallTracker(LineDirectory())
    _ringing_at_100(tracker)
    tracker.handle({"Event": "Newstate", **_chan("1.1", "1.0", "PJSIP/100-00000001", "6", "100")})
    late = _chan("1.3", "1.0", "PJSIP/201-00000003", "5", "201")
    tracker.handle({"Event": "Newstate", **late})
    gone = tracker.handle({"Event": "Hangup", **late, "Cause": "26", "Cause-txt": "Answered elsewhere"})
    assert _calls(gone) == [RingStopped("1.0", "201", "answered_elsewhere")]

"""A line's status from its devices: which device names are a phone of the line at all, how many a line
keeps, and that a device's news is counted, not rescanned (pure: the tracker without sockets)."""

from __future__ import annotations

from cti_daemon.ami.call_events import LineChanged, LineStatus, QueueMembership
from cti_daemon.ami.directory import LineDirectory, LineOwner
from cti_daemon.ami.lines import DEVICES_MAX, LineBook
from cti_daemon.ami.tracker import CallTracker


def _device(tracker: CallTracker, device: str, state: str) -> list[LineChanged]:
    events = tracker.handle({"Event": "DeviceStateChange", "Device": device, "State": state})
    return [e for e in events if isinstance(e, LineChanged)]


def test_given_queue_pause_and_made_up_device_names_for_202_then_the_line_keeps_only_its_phone() -> None:
    tracker = CallTracker(LineDirectory())
    _device(tracker, "PJSIP/202", "NOT_INUSE")
    for i in range(2_000):
        assert _device(tracker, f"Queue:q{i}_pause_PJSIP/202", "INUSE") == []
        assert _device(tracker, f"X{i}/202", "INUSE") == []
        assert _device(tracker, f"Custom:garbage{i}", "INUSE") == []
    view = tracker.line_view("202")
    assert view is not None
    assert view.devices == (("pjsip/202", LineStatus.READY),) and view.status is LineStatus.READY


def test_given_202_paused_in_its_queue_then_its_line_stays_ready_and_carries_the_pause() -> None:
    tracker = CallTracker(LineDirectory())
    _device(tracker, "PJSIP/202", "NOT_INUSE")
    member = {"Queue": "service", "MemberName": "PJSIP/202", "Interface": "PJSIP/202"}
    assert _device(tracker, "Queue:service_pause_PJSIP/202", "INUSE") == []
    events = tracker.handle(
        {
            "Event": "QueueMemberPause",
            **member,
            "StateInterface": "PJSIP/202",
            "Paused": "1",
            "PausedReason": "lunch",
        }
    )
    assert events == [
        LineChanged("202", LineStatus.READY, None, (QueueMembership("service", paused=True, reason="lunch"),))
    ]
    # The member's phone still rings and talks: the pause is not its status.
    assert _device(tracker, "PJSIP/202", "RINGING")[0].status is LineStatus.RINGING
    events = tracker.handle({"Event": "QueueMemberPause", **member, "Paused": "0", "PausedReason": ""})
    assert events == [LineChanged("202", LineStatus.RINGING, None, (QueueMembership("service"),))]
    events = tracker.handle({"Event": "QueueMemberRemoved", **member})
    assert events == [LineChanged("202", LineStatus.RINGING, None, ())]


def test_given_a_member_unregistered_after_the_lists_named_its_pause_device_then_the_line_is_offline() -> (
    None
):
    tracker = CallTracker(LineDirectory())
    tracker.resync(
        devices=[
            {"Device": "PJSIP/202", "State": "NOT_INUSE"},
            {"Device": "Queue:service_pause_PJSIP/202", "State": "NOT_INUSE"},
            {"Device": "Queue:service_avail", "State": "INUSE"},
        ]
    )
    assert [e.status for e in _device(tracker, "PJSIP/202", "UNAVAILABLE")] == [LineStatus.OFFLINE]


def test_given_an_employee_with_three_devices_then_the_line_is_the_busiest_of_them_as_they_change() -> None:
    tracker = CallTracker(LineDirectory([LineOwner("e-7", "7001", ("PJSIP/desk", "PJSIP/soft", "SIP/old"))]))
    steps = [
        ("PJSIP/desk", "NOT_INUSE", LineStatus.READY),
        ("PJSIP/soft", "UNAVAILABLE", None),
        ("SIP/old", "RINGING", LineStatus.RINGING),
        ("PJSIP/desk", "INUSE", LineStatus.TALKING),
        ("SIP/old", "NOT_INUSE", None),
        ("PJSIP/desk", "UNAVAILABLE", LineStatus.READY),
        ("SIP/old", "UNAVAILABLE", LineStatus.OFFLINE),
    ]
    for device, state, status in steps:
        changed = _device(tracker, device, state)
        assert [e.status for e in changed] == ([status] if status else []), (device, state)


def test_given_more_devices_than_a_line_keeps_then_the_first_ones_count_and_the_rest_are_dropped() -> None:
    book = LineBook()
    for i in range(DEVICES_MAX + 100):
        book.set_device("7001", f"pjsip/d{i}", LineStatus.OFFLINE)
    assert book.set_device("7001", "pjsip/late", LineStatus.TALKING) is None
    assert len(book.get("7001").devices) == DEVICES_MAX
    assert book.set_device("7001", "pjsip/d0", LineStatus.READY) is not None  # a kept one still counts
    assert book.get("7001").status is LineStatus.READY

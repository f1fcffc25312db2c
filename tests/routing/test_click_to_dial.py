"""Which of an employee's phones click to dial rings (pure: the directory's devices and their states in)."""

from __future__ import annotations

from cti_daemon.ami.call_events import LineStatus
from cti_daemon.routing.click_to_dial import device_to_ring

DESK, SOFT = "PJSIP/201", "PJSIP/201-soft"


def test_given_the_desk_phone_unplugged_and_the_softphone_ready_then_the_softphone_rings() -> None:
    reported = [("pjsip/201", LineStatus.OFFLINE), ("pjsip/201-soft", LineStatus.READY)]
    assert device_to_ring((DESK, SOFT), reported) == SOFT


def test_given_both_ready_or_never_reported_then_the_first_listed_rings() -> None:
    assert (
        device_to_ring((DESK, SOFT), [("pjsip/201", LineStatus.READY), ("pjsip/201-soft", LineStatus.READY)])
        == DESK
    )
    assert device_to_ring((DESK, SOFT), []) == DESK


def test_given_one_phone_on_a_call_then_the_free_one_rings_and_an_unregistered_one_comes_last() -> None:
    assert device_to_ring((DESK, SOFT), [("pjsip/201", LineStatus.TALKING)]) == SOFT  # soft: not reported
    reported = [("pjsip/201", LineStatus.OFFLINE), ("pjsip/201-soft", LineStatus.TALKING)]
    assert device_to_ring((DESK, SOFT), reported) == SOFT


def test_given_no_device_listed_then_none() -> None:
    assert device_to_ring((), [("pjsip/201", LineStatus.READY)]) is None

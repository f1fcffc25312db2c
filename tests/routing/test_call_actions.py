"""What transfers and click to dial share: the wait for the PBX's news, the refusals for lines that cannot
take a call, what the AMI adapter's errors mean to the one who asked, and which numbers can be dialled."""

from __future__ import annotations

import asyncio

import pytest

from cti_daemon.ami.call_events import LineStatus
from cti_daemon.ami.errors import (
    AmiActionError,
    AmiDisconnectedError,
    AmiError,
    AmiNoSuchChannelError,
    AmiNotConnectedError,
    AmiOriginateError,
    AmiPermissionError,
    AmiTimeoutError,
)
from cti_daemon.routing.call_actions import LineState, PbxNews, from_ami, unavailable
from cti_daemon.routing.click_to_dial import dialable


async def test_given_a_waiter_then_a_tick_after_the_news_wakes_it_at_once() -> None:
    news = PbxNews()
    seen: list[str] = []
    waiter = asyncio.create_task(news.until(lambda: "ringing" in seen, timeout=5.0))
    await asyncio.sleep(0.01)
    news.tick()  # news, but not the one awaited
    await asyncio.sleep(0.01)
    assert not waiter.done()
    seen.append("ringing")
    news.tick()
    assert await asyncio.wait_for(waiter, 0.5) is True


async def test_given_no_news_then_the_wait_ends_false_after_its_timeout() -> None:
    news = PbxNews()
    assert await news.until(lambda: False, timeout=0.05) is False
    assert await news.until(lambda: True, timeout=0) is True  # already true: no wait at all


@pytest.mark.parametrize(
    ("status", "code"),
    [(LineStatus.OFFLINE, "line_offline"), (LineStatus.UNKNOWN, "line_state_unknown")],
)
def test_given_an_offline_or_unknown_line_then_a_conflict_naming_the_line_and_field(
    status: LineStatus, code: str
) -> None:
    refusal = unavailable(LineState("202", status), field="to_extension", what="the call stays where it is")
    assert refusal is not None and refusal.kind == "conflict" and refusal.code == code
    assert refusal.field == "to_extension" and "202" in refusal.message and "stays" in refusal.message


@pytest.mark.parametrize("status", [LineStatus.READY, LineStatus.RINGING, LineStatus.TALKING])
def test_given_a_line_that_is_up_then_no_refusal(status: LineStatus) -> None:
    assert unavailable(LineState("201", status), field="x", what="y") is None


@pytest.mark.parametrize(
    ("error", "kind", "code"),
    [
        (AmiNotConnectedError("no session"), "unavailable", "ami_unavailable"),
        (AmiDisconnectedError("gone"), "unavailable", "ami_unavailable"),
        (AmiTimeoutError("slow"), "pbx_timeout", "pbx_timeout"),
        (AmiNoSuchChannelError("BlindTransfer", "Channel specified does not exist"), "conflict", "call_gone"),
        (AmiPermissionError("Atxfer", "Permission denied"), "pbx_refused", "ami_permission"),
        (AmiOriginateError("Originate", "no answer", 3), "pbx_refused", "pbx_refused"),
        (AmiActionError("Atxfer", "Atxfer failed"), "pbx_refused", "pbx_refused"),
        (AmiError("odd"), "pbx_refused", "pbx_refused"),
    ],
)
def test_given_an_ami_failure_then_it_maps_to_what_the_caller_can_act_on(
    error: AmiError, kind: str, code: str
) -> None:
    refusal = from_ami(error, "Atxfer")
    assert (refusal.kind, refusal.code) == (kind, code)
    assert "Atxfer" in refusal.message


@pytest.mark.parametrize(
    ("given", "dialled"),
    [
        ("100", "100"),
        ("+7 (916) 123-45-67", "+79161234567"),
        ("8.916.123.45.67", "89161234567"),
        ("00 34 91 123 45 67", "0034911234567"),
        ("", None),
        ("+", None),
        ("12+3", None),
        ("*21#", None),
        ("call me", None),
        ("1" * 21, None),
        ("916\n123", "916123"),
    ],
)
def test_given_what_a_user_types_then_only_digits_with_an_optional_plus_are_dialled(
    given: str, dialled: str | None
) -> None:
    assert dialable(given) == dialled

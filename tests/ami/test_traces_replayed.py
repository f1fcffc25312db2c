"""Every recorded trace, replayed over TCP through the real link into the tracker, gives exactly the calls,
transfers and line states written in its expectation file (tests/ami/expected/<trace>.json)."""

from __future__ import annotations

import asyncio
import json

import pytest

from cti_daemon.ami.call_events import CallEvent
from cti_daemon.ami.frames import AmiMessage
from cti_daemon.ami.link import AmiLink
from cti_daemon.ami.tracker import CallTracker
from cti_daemon.config import AmiConfig
from cti_daemon.secret import Secret
from tests.support.expectations import compact, compact_view, directory_for, expected
from tests.support.replay import ReplayServer
from tests.support.traces import all_traces, trace_bytes, trace_messages


def _config(port: int) -> AmiConfig:
    return AmiConfig(
        port=port,
        secret=Secret("secret"),
        ping_interval_s=5.0,
        reconnect_max_delay_s=5.0,
        connect_timeout_s=2.0,
    )


def test_every_recorded_trace_has_an_expectation_file() -> None:
    assert len(all_traces()) == 25
    for trace in all_traces():
        spec = expected(trace)
        assert {"story", "events", "lines", "open_calls"} <= spec.keys(), trace


@pytest.mark.parametrize("trace", all_traces())
async def test_given_recorded_trace_replayed_over_tcp_then_calls_transfers_and_lines_are_as_expected(
    trace: str, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = expected(trace)
    tracker = CallTracker(directory_for(spec))
    events: list[CallEvent] = []
    complete = asyncio.Event()

    def on_event(msg: AmiMessage) -> None:
        if msg.get("Event") == "ReplayComplete":
            complete.set()
        events.extend(tracker.handle(msg))

    # An odd chunk size: frames and UTF-8 characters split at arbitrary places.
    async with (
        ReplayServer(trace_bytes(trace), chunk=1371) as replay,
        AmiLink(_config(replay.port), on_event=on_event) as link,
    ):
        if "login_refused" in spec:
            await asyncio.wait_for(replay.done.wait(), 5)
            await asyncio.sleep(0.05)
            assert not link.connected
        else:
            await asyncio.wait_for(complete.wait(), 10)
            assert link.stats()["malformed"] == 0
    calls, lines = compact(events)
    assert calls == spec["events"]
    assert lines == spec["lines"]
    assert sorted(tracker.calls) == spec["open_calls"]
    if "login_refused" in spec:
        logged = [json.loads(x) for x in capsys.readouterr().err.splitlines() if x.startswith("{")]
        refusals = [x for x in logged if x["event"] == "ami.login_failed"]
        assert refusals and refusals[0]["reason"] == spec["login_refused"]


def test_given_the_recorded_list_answers_when_resynced_then_lines_and_the_adopted_call_are_the_truth() -> (
    None
):
    spec = expected("asterisk-22/f_lists")
    items: dict[str, list[AmiMessage]] = {}
    for msg in trace_messages("asterisk-22/f_lists"):
        if "Event" in msg and not msg["Event"].endswith("Complete"):
            items.setdefault(msg["ActionID"], []).append(msg)
    tracker = CallTracker(directory_for(spec))
    for round_ in spec["resync"]:
        lists = round_["lists"]
        got = tracker.resync(
            items.get(lists["devices"], []), items.get(lists["hints"], []), items.get(lists["channels"], [])
        )
        calls, lines = compact(got)
        assert calls == round_["events"]
        assert lines == round_["lines"]
        assert [compact_view(v) for v in tracker.call_views()] == round_["calls"]

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
from tests.support.expectations import compact, compact_queues, compact_view, directory_for, expected
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
    assert len(all_traces()) == 27
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
    assert compact_queues(events) == spec.get("queues", {})
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


@pytest.mark.parametrize("trace", [t for t in all_traces() if "with_lists" in expected(t)])
def test_given_a_recorded_session_with_its_lists_then_each_list_is_resynced_where_it_arrived(
    trace: str,
) -> None:
    """Live events and list answers in the order Asterisk sent them; a round of lists goes to resync once
    its last list is complete, as the daemon's resync does after a login."""
    spec = expected(trace)["with_lists"]
    tracker = CallTracker(directory_for(expected(trace)))
    items: dict[str, list[AmiMessage]] = {}
    events: list[CallEvent] = []
    for msg in trace_messages(trace):
        if "Event" not in msg:
            continue
        action = msg.get("ActionID")
        if action is None:
            events.extend(tracker.handle(msg))
        elif msg.get("EventList") != "Complete":
            items.setdefault(action, []).append(msg)
        for lists in spec["rounds"]:
            if action is not None and msg.get("EventList") == "Complete" and action == _last(lists):
                events.extend(
                    tracker.resync(
                        items.get(lists["devices"]) if "devices" in lists else None,
                        items.get(lists["hints"]) if "hints" in lists else None,
                        queue_members=items.get(lists["queues"]) if "queues" in lists else None,
                    )
                )
    calls, lines = compact(events)
    assert calls == []
    assert lines == spec["lines"]
    assert compact_queues(events) == spec["queues"]
    memberships = {
        v.extension: {m.queue: {"paused": m.paused, "reason": m.reason} for m in v.queues}
        for v in tracker.line_views()
        if v.queues
    }
    assert memberships == spec["memberships"]


def _last(lists: dict[str, str]) -> str:
    return lists.get("queues") or lists.get("hints") or lists["devices"]

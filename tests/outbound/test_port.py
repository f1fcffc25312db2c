"""FanOut: every adapter is told, in order, and one that fails does not silence the others."""

from __future__ import annotations

from datetime import UTC, datetime

from cti_daemon.outbound.port import AgentPort, FanOut
from cti_daemon.outbound.topics import Topics
from cti_daemon.stream.audience import Viewer
from cti_daemon.stream.hub import StreamHub

AT = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


class Broken(StreamHub):
    def presence(self, **_kw: object) -> None:
        raise RuntimeError("this adapter is broken")


def test_given_two_adapters_and_the_first_fails_then_the_second_is_still_told() -> None:
    working = StreamHub(Topics("cti"), "n1")
    page = working.subscribe(Viewer("e-201", sees_all=False))
    ports: list[AgentPort] = [Broken(Topics("cti"), "n1"), working]
    FanOut(ports).presence(employee_id="e-201", status="busy", note=None, client="online", since=AT)
    assert page.queue.qsize() == 1
    assert [p["status"] for p in working.retained("presence")] == ["busy"]

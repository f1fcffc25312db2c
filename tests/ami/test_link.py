"""The AMI link over real TCP: recorded traffic, the simulator, and the bad cases."""

from __future__ import annotations

import asyncio
import json
import random

import pytest

from cti_daemon.ami.call_events import CallEvent, CallRinging, Party
from cti_daemon.ami.directory import LineDirectory
from cti_daemon.ami.errors import AmiNotConnectedError
from cti_daemon.ami.frames import AmiMessage
from cti_daemon.ami.link import AmiLink
from cti_daemon.ami.simulator.scenarios import InboundCall, place_inbound
from cti_daemon.ami.tracker import CallTracker
from cti_daemon.backoff import backoff_delay
from cti_daemon.config import AmiConfig
from cti_daemon.secret import Secret
from tests.conftest import AMI_SECRET, Sim
from tests.support.replay import ReplayServer
from tests.support.traces import trace_bytes


def _config(port: int, **kw: object) -> AmiConfig:
    base: dict[str, object] = {
        "port": port,
        "secret": Secret(AMI_SECRET),
        "ping_interval_s": 0.5,
        "reconnect_max_delay_s": 0.4,
        "connect_timeout_s": 2.0,
    }
    base.update(kw)
    return AmiConfig(**base)  # type: ignore[arg-type]


async def _until(predicate: object, timeout: float = 5.0) -> None:
    async def poll() -> None:
        while not predicate():  # type: ignore[operator]
            await asyncio.sleep(0.01)

    await asyncio.wait_for(poll(), timeout)


@pytest.mark.parametrize(
    ("trace", "name", "chunk"),
    [
        ("asterisk-22/b_inbound_answered", "Ivan Petrov", 4096),
        ("asterisk-22/b_inbound_answered_cyrillic", "Иван Петров", 7),
        ("asterisk-22/b_inbound_answered_cyrillic", "Иван Петров", 1),
    ],
)
async def test_given_recorded_inbound_trace_over_tcp_then_tracker_reports_ringing_extension_and_caller(
    trace: str, name: str, chunk: int
) -> None:
    tracker = CallTracker(LineDirectory())
    events: list[CallEvent] = []
    async with (
        ReplayServer(trace_bytes(trace), chunk=chunk) as replay,
        AmiLink(_config(replay.port, event_filter=[]), on_event=lambda m: events.extend(tracker.handle(m))),
    ):
        await asyncio.wait_for(replay.done.wait(), 10)
        await _until(lambda: any(getattr(e, "cause", None) == 16 for e in events))
    ringing = [e for e in events if isinstance(e, CallRinging)]
    assert ringing == [CallRinging("1795423923.0", "100", Party("+79161234567", name), "PJSIP/100-00000001")]


async def test_given_wrong_secret_then_a_clear_log_line_and_retries_with_backoff(
    sim: Sim, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = _config(sim.port, secret=Secret("wrong-secret-value"), reconnect_max_delay_s=0.4)
    async with AmiLink(cfg, on_event=lambda m: None) as link:
        await _until(lambda: sim.server.failed_logins >= 3, timeout=8)
        assert not link.connected
    lines = [json.loads(x) for x in capsys.readouterr().err.splitlines() if x.startswith("{")]
    failures = [x for x in lines if x["event"] == "ami.login_failed"]
    assert failures and failures[0]["reason"] == "Authentication failed"
    assert failures[0]["username"] == "cti"
    delays = [x["delay_s"] for x in lines if x["event"] == "ami.reconnecting"]
    assert len(delays) >= 2 and all(d >= 0.2 for d in delays)  # never a busy loop
    assert all("wrong-secret-value" not in json.dumps(x) for x in lines)


async def test_given_a_peer_that_goes_silent_then_the_link_notices_within_two_ping_intervals(
    sim: Sim,
) -> None:
    cfg = _config(sim.port, ping_interval_s=0.5)
    async with AmiLink(cfg, on_event=lambda m: None) as link:
        await link.wait_connected(5)
        sessions_before = link.sessions
        sim.server.go_silent()
        started = asyncio.get_running_loop().time()
        await _until(lambda: not link.connected, timeout=5)
        noticed = asyncio.get_running_loop().time() - started
        assert noticed <= 2 * cfg.ping_interval_s + 0.2
        await _until(lambda: link.connected and link.sessions > sessions_before, timeout=5)


async def test_given_connection_closed_mid_frame_then_link_reconnects_and_later_calls_still_pop(
    sim: Sim,
) -> None:
    tracker = CallTracker(LineDirectory())
    events: list[CallEvent] = []
    async with AmiLink(_config(sim.port), on_event=lambda m: events.extend(tracker.handle(m))) as link:
        await link.wait_connected(5)
        sim.server.close_mid_frame()
        await _until(lambda: not link.connected)
        await link.wait_connected(5)
        await place_inbound(sim.pbx, InboundCall("+79035556677", ring_s=0.01, talk_s=0.01))
        await _until(lambda: any(isinstance(e, CallRinging) for e in events))
    assert [e.caller.number for e in events if isinstance(e, CallRinging)] == ["+79035556677"]


async def test_given_pbx_refusing_connections_then_link_keeps_trying_and_connects_when_it_returns(
    sim: Sim,
) -> None:
    await sim.server.stop()
    async with AmiLink(_config(sim.port), on_event=lambda m: None) as link:
        await asyncio.sleep(0.8)
        assert not link.connected
        await sim.server.start()
        await link.wait_connected(5)


async def test_given_connected_link_then_actions_answer_and_noise_is_filtered_at_the_source(sim: Sim) -> None:
    received: list[AmiMessage] = []
    async with AmiLink(_config(sim.port), on_event=received.append) as link:
        await link.wait_connected(5)
        pong = await link.action("Ping")
        assert pong.ok and pong.headers["Ping"] == "Pong"
        session = next(iter(sim.server.sessions))
        assert {"VarSet", "Newexten"} <= session.excluded
        await place_inbound(sim.pbx, InboundCall("+79035556677", ring_s=0.01, talk_s=0.01))
        await _until(lambda: any(m.get("Event") == "Hangup" for m in received))
        assert link.stats()["dropped"] == 0  # nothing to drop: the PBX never sent it
    assert not any(m.get("Event") in ("VarSet", "Newexten") for m in received)


async def test_given_no_session_then_an_action_fails_with_a_typed_error(sim: Sim) -> None:
    await sim.server.stop()
    async with AmiLink(_config(sim.port), on_event=lambda m: None) as link:
        with pytest.raises(AmiNotConnectedError):
            await link.action("Ping")


def test_backoff_doubles_with_jitter_and_never_exceeds_the_cap() -> None:
    rng = random.Random(1)
    delays = [backoff_delay(attempt, 30.0, rng) for attempt in range(12)]
    assert all(0.25 <= d <= 30.0 for d in delays)
    assert delays[0] <= 0.5 and delays[5] >= 8.0 and max(delays) <= 30.0
    assert delays[-1] >= 15.0


async def test_given_asterisk_restarting_again_soon_after_a_resynced_session_then_the_back_off_starts_over(
    sim: Sim,
) -> None:
    resynced = asyncio.Event()

    async def resync(_link: AmiLink) -> None:
        resynced.set()

    await sim.server.stop()  # Asterisk restarting: refused for a while, the attempts grow
    cfg = _config(sim.port, reconnect_max_delay_s=30.0)
    async with AmiLink(cfg, on_event=lambda m: None, on_session=resync, rng=random.Random(11)) as link:
        await _until(lambda: (link.last_delay_s or 0) >= 1.0, timeout=10)  # the third step, 1-2 s
        await sim.server.start()
        await link.wait_connected(5)
        await asyncio.wait_for(resynced.wait(), 5)
        grown = link.last_delay_s
        await sim.server.stop()  # and restarts again, a second after we were back
        await _until(lambda: link.last_delay_s != grown and not link.connected)
        # Logged in and resynced: a success. The next attempt is the first step, not the fourth (2-4 s).
        assert link.last_delay_s is not None and link.last_delay_s <= 0.5
        await sim.server.start()
        await link.wait_connected(2)


async def test_given_a_pbx_that_drops_each_session_before_the_resync_is_done_then_the_back_off_still_grows(
    sim: Sim,
) -> None:
    async def resync_never_done(_link: AmiLink) -> None:
        await asyncio.Event().wait()

    cfg = _config(sim.port, reconnect_max_delay_s=30.0)
    delays: list[float] = []
    async with AmiLink(cfg, on_event=lambda m: None, on_session=resync_never_done) as link:
        for _ in range(3):
            await link.wait_connected(5)
            sim.server.drop_connections()
            await _until(lambda: not link.connected)
            assert link.last_delay_s is not None
            delays.append(link.last_delay_s)
    assert delays[0] <= 0.5 and delays[1] >= 0.5 and delays[2] >= 1.0, delays


async def test_given_a_wrong_secret_then_the_link_says_auth_failed_with_the_time_and_never_the_secret(
    sim: Sim,
) -> None:
    cfg = _config(sim.port, secret=Secret("wrong-secret-value"))
    async with AmiLink(cfg, on_event=lambda m: None) as link:
        await _until(lambda: link.health.reason is not None, timeout=5)
        health = link.health
    assert (health.up, health.reason) == (False, "auth_failed")
    assert health.last_error is not None and "Authentication failed" in health.last_error
    assert "wrong-secret-value" not in health.last_error
    assert health.last_error_at is not None


async def test_given_a_pbx_refusing_connections_then_the_link_says_unreachable(sim: Sim) -> None:
    await sim.server.stop()
    async with AmiLink(_config(sim.port), on_event=lambda m: None) as link:
        await _until(lambda: link.health.reason is not None)
        assert (link.health.up, link.health.reason) == (False, "unreachable")


async def test_given_a_pbx_still_booting_then_the_link_says_booting_until_fully_booted(sim: Sim) -> None:
    await sim.server.stop()
    await sim.server.start(booting=True)  # logins taken, FullyBooted not sent yet
    async with AmiLink(_config(sim.port), on_event=lambda m: None) as link:
        await link.wait_connected(5)
        assert link.connected
        assert (link.health.up, link.health.reason) == (False, "booting")
        sim.server.finish_boot()
        await _until(lambda: link.health.up)
        assert link.health.reason is None


async def test_given_a_hung_pbx_then_the_link_says_silent(sim: Sim) -> None:
    cfg = _config(sim.port, connect_timeout_s=0.3)
    async with AmiLink(cfg, on_event=lambda m: None) as link:
        await link.wait_connected(5)
        sim.server.go_silent(hang=True)  # pings unanswered, and new connections never greeted
        await _until(lambda: link.health.reason is not None)
        assert (link.health.up, link.health.reason) == (False, "silent")
        sim.server.wake_up()
        await _until(lambda: link.health.up)

"""The AMI actions, sent through the real link to the simulator over TCP: typed results, typed errors,
and what the tracker then reads from the PBX's events."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

import pytest

from cti_daemon.ami import actions
from cti_daemon.ami.call_events import CallEnded, CallEvent, CallRinging, CallTransferred, Party
from cti_daemon.ami.calls import CallView
from cti_daemon.ami.directory import LineDirectory
from cti_daemon.ami.errors import (
    AmiNoSuchChannelError,
    AmiOriginateError,
    AmiPermissionError,
    AmiTimeoutError,
)
from cti_daemon.ami.link import AmiLink
from cti_daemon.ami.simulator import flows
from cti_daemon.ami.simulator.pbx import SimPbx
from cti_daemon.ami.simulator.scenarios import InboundCall, place_inbound
from cti_daemon.ami.simulator.server import AmiServer
from cti_daemon.ami.tracker import CallTracker
from cti_daemon.config import AmiConfig
from cti_daemon.secret import Secret
from tests.conftest import AMI_SECRET

CALLER = Party("+79161234567", "Ivan Petrov")


@dataclass
class Pbx:
    pbx: SimPbx
    link: AmiLink
    tracker: CallTracker
    events: list[CallEvent] = field(default_factory=list)

    async def until(self, predicate: Callable[[], object], timeout: float = 5.0) -> None:
        async def poll() -> None:
            while not predicate():
                await asyncio.sleep(0.005)

        await asyncio.wait_for(poll(), timeout)

    async def answered_at_reception(self) -> CallView:
        handle = await place_inbound(
            self.pbx, InboundCall(CALLER.number, CALLER.name, ring_s=0.2, talk_s=None)
        )
        await self.until(
            lambda: (v := self.tracker.call_view(handle.call_id)) is not None and v.talking == ("100",)
        )
        view = self.tracker.call_view(handle.call_id)
        assert view is not None
        return view


@contextlib.asynccontextmanager
async def _connected(write: tuple[str, ...] = ("call", "originate", "system")) -> AsyncIterator[Pbx]:
    pbx = SimPbx()
    pbx.speed = 0.05  # phones answer after 1.5 s * 0.05
    tracker = CallTracker(LineDirectory())
    async with AmiServer(pbx, secret=AMI_SECRET, write=write) as server:
        env = Pbx(pbx, None, tracker)  # type: ignore[arg-type]
        cfg = AmiConfig(
            port=server.port, secret=Secret(AMI_SECRET), ping_interval_s=1.0, connect_timeout_s=2.0
        )
        async with AmiLink(cfg, on_event=lambda m: env.events.extend(tracker.handle(m))) as link:
            env.link = link
            await link.wait_connected(5)
            yield env
        pbx.cancel_flows()


@pytest.fixture
async def env() -> AsyncIterator[Pbx]:
    async with _connected() as connected:
        yield connected


async def test_given_reception_talking_when_blind_transfer_to_201_then_201_rings_with_the_real_caller(
    env: Pbx,
) -> None:
    view = await env.answered_at_reception()
    assert view.transferer_channel is not None and view.transferer_channel.startswith("PJSIP/100-")
    result = await actions.blind_transfer(env.link, view.transferer_channel, "internal", "201")
    assert result.message == "Transfer succeeded"
    await env.until(lambda: env.tracker.call_view(view.call_id).talking == ("201",))  # type: ignore[union-attr]
    assert CallTransferred(view.call_id, "blind", "100", "201") in env.events
    rang = [e for e in env.events if isinstance(e, CallRinging) and e.extension == "201"]
    assert [e.caller for e in rang] == [CALLER]


async def test_given_reception_talking_when_the_caller_is_redirected_then_the_redirect_is_reported(
    env: Pbx,
) -> None:
    view = await env.answered_at_reception()
    assert view.caller_channel is not None and view.caller_channel.startswith("PJSIP/trunk-")
    result = await actions.redirect(env.link, view.caller_channel, "internal", "202")
    assert result.message == "Redirect successful"
    await env.until(lambda: env.tracker.call_view(view.call_id).talking == ("202",))  # type: ignore[union-attr]
    assert CallTransferred(view.call_id, "redirect", "100", "202") in env.events


async def test_given_an_attended_transfer_when_reception_hangs_up_then_the_caller_talks_with_201(
    env: Pbx,
) -> None:
    view = await env.answered_at_reception()
    transferer = view.transferer_channel
    assert transferer is not None
    result = await actions.attended_transfer(env.link, transferer, "internal", "201")
    assert result.message == "Atxfer successfully queued"
    await env.until(lambda: "201" in env.tracker.call_view(view.call_id).talking)  # type: ignore[union-attr]
    await actions.complete_attended_transfer(env.link, transferer)
    await env.until(lambda: env.tracker.call_view(view.call_id).talking == ("201",))  # type: ignore[union-attr]
    assert CallTransferred(view.call_id, "attended", "100", "201") in env.events
    after = env.tracker.call_view(view.call_id)
    assert after is not None and after.caller == CALLER and after.caller_channel == view.caller_channel


async def test_given_an_attended_transfer_when_cancelled_then_the_caller_is_back_with_reception(
    env: Pbx,
) -> None:
    view = await env.answered_at_reception()
    transferer = view.transferer_channel
    assert transferer is not None
    await actions.attended_transfer(env.link, transferer, "internal", "201")
    await env.until(lambda: "201" in env.tracker.call_view(view.call_id).talking)  # type: ignore[union-attr]
    result = await actions.cancel_attended_transfer(env.link, transferer)
    assert result.action == "CancelAtxfer"
    await env.until(lambda: env.tracker.call_view(view.call_id).talking == ("100",))  # type: ignore[union-attr]
    assert not [e for e in env.events if isinstance(e, CallTransferred)]


async def test_given_a_blind_transfer_to_an_unregistered_phone_then_success_and_the_caller_is_cut_off(
    env: Pbx,
) -> None:
    env.pbx.endpoints["203"].registered = False
    view = await env.answered_at_reception()
    assert view.transferer_channel is not None
    result = await actions.blind_transfer(env.link, view.transferer_channel, "internal", "203")
    assert result.message == "Transfer succeeded"  # Asterisk does not protect the caller
    await env.until(lambda: any(isinstance(e, CallEnded) for e in env.events))
    assert [(e.cause, e.cause_text) for e in env.events if isinstance(e, CallEnded)] == [
        (3, "No route to destination")
    ]


async def test_given_click_to_dial_then_201_answers_and_reception_rings_with_the_click2call_id(
    env: Pbx,
) -> None:
    result = await actions.originate(
        env.link, "PJSIP/201", "100", "internal", '"Click2Call" <201>', timeout=5.0
    )
    assert result.reason == 4 and result.channel.startswith("PJSIP/201-") and result.uniqueid
    await env.until(lambda: any(isinstance(e, CallRinging) and e.extension == "100" for e in env.events))
    ringing = next(e for e in env.events if isinstance(e, CallRinging))
    assert ringing.call_id == result.uniqueid and ringing.caller == Party("201", "Click2Call")


async def test_given_a_busy_phone_when_click_to_dial_then_a_typed_error_says_busy(env: Pbx) -> None:
    env.pbx.endpoints["202"].busy = True
    with pytest.raises(AmiOriginateError) as caught:
        await actions.originate(env.link, "PJSIP/202", "100", "internal", timeout=5.0)
    assert caught.value.reason == 5 and "busy" in caught.value.message


async def test_given_a_channel_that_is_gone_then_hangup_and_transfer_say_no_such_channel(env: Pbx) -> None:
    with pytest.raises(AmiNoSuchChannelError):
        await actions.hangup(env.link, "PJSIP/100-000000ff")
    with pytest.raises(AmiNoSuchChannelError):
        await actions.blind_transfer(env.link, "PJSIP/100-000000ff", "internal", "201")
    with pytest.raises(AmiNoSuchChannelError):
        await actions.redirect(env.link, "PJSIP/trunk-000000ff", "internal", "201")


async def test_given_a_live_call_when_hung_up_then_it_ends(env: Pbx) -> None:
    view = await env.answered_at_reception()
    assert view.caller_channel is not None
    result = await actions.hangup(env.link, view.caller_channel)
    assert result.message == "Channel Hungup"
    await env.until(lambda: view.call_id not in env.tracker.calls)


async def test_given_arguments_that_would_break_the_wire_then_value_error_before_sending(env: Pbx) -> None:
    with pytest.raises(ValueError, match="exten"):
        await actions.blind_transfer(env.link, "PJSIP/100-00000001", "internal", "201\r\nAction: Originate")
    with pytest.raises(ValueError, match="channel"):
        await actions.hangup(env.link, "")


async def test_given_a_user_without_originate_privilege_then_permission_denied() -> None:
    async with _connected(write=("call",)) as env:
        with pytest.raises(AmiPermissionError):
            await actions.originate(env.link, "PJSIP/201", "100", "internal", timeout=2.0)


async def test_given_a_pbx_that_stopped_answering_then_the_action_times_out() -> None:
    pbx = SimPbx()
    async with AmiServer(pbx, secret=AMI_SECRET) as server:
        cfg = AmiConfig(port=server.port, secret=Secret(AMI_SECRET), ping_interval_s=5.0)
        async with AmiLink(cfg, on_event=lambda m: None) as link:
            await link.wait_connected(5)
            server.go_silent()
            with pytest.raises(AmiTimeoutError):
                await actions.hangup(link, "PJSIP/100-00000001", timeout=0.2)


async def test_given_an_attended_transfer_when_the_caller_hangs_up_during_the_consultation_then_all_ends(
    env: Pbx,
) -> None:
    view = await env.answered_at_reception()
    assert view.transferer_channel is not None and view.caller_channel is not None
    await actions.attended_transfer(env.link, view.transferer_channel, "internal", "201")
    await env.until(lambda: "201" in env.tracker.call_view(view.call_id).talking)  # type: ignore[union-attr]
    await actions.hangup(env.link, view.caller_channel)  # the caller on hold gives up
    await actions.hangup(env.link, view.transferer_channel)  # then reception hangs up
    await env.until(lambda: not env.tracker.calls and not env.pbx.channels)
    assert not env.pbx.atxfers
    assert not [e for e in env.events if isinstance(e, CallTransferred)]


async def test_given_click_to_dial_with_a_channel_id_then_the_new_call_has_that_id_from_its_first_event(
    env: Pbx,
) -> None:
    result = await actions.originate(
        env.link, "PJSIP/201", "100", "internal", "<201>", timeout=5.0, channel_id="cti-0190-click"
    )
    assert result.uniqueid == "cti-0190-click"
    await env.until(lambda: any(isinstance(e, CallRinging) and e.extension == "100" for e in env.events))
    ringing = next(e for e in env.events if isinstance(e, CallRinging))
    assert ringing.call_id == "cti-0190-click" and ringing.caller == Party("201", "Staff 201")


async def test_given_a_consultation_when_the_target_hangs_up_then_the_transferer_is_back_with_the_caller(
    env: Pbx,
) -> None:
    view = await env.answered_at_reception()
    assert view.transferer_channel is not None
    await actions.attended_transfer(env.link, view.transferer_channel, "internal", "201")
    await env.until(lambda: "201" in env.tracker.call_view(view.call_id).talking)  # type: ignore[union-attr]
    target = env.pbx.channel_named(env.tracker.call_view(view.call_id).channel_of("201") or "")  # type: ignore[union-attr]
    assert target is not None
    flows.hangup(env.pbx, target)  # 201 puts the handset down: Asterisk rebridges 100 with the caller
    await env.until(lambda: env.tracker.call_view(view.call_id).talking == ("100",))  # type: ignore[union-attr]
    trunk = env.pbx.channel_named(view.caller_channel or "")
    reception = env.pbx.channel_named(view.transferer_channel)
    assert trunk is not None and reception is not None and trunk.bridge == reception.bridge is not None
    assert not env.pbx.atxfers and not [e for e in env.events if isinstance(e, CallTransferred)]


async def test_given_an_attended_transfer_cancelled_while_the_target_rings_then_its_flow_ends_cleanly(
    env: Pbx,
) -> None:
    env.pbx.endpoints["201"].answer_after_s = None
    view = await env.answered_at_reception()
    assert view.transferer_channel is not None
    await actions.attended_transfer(env.link, view.transferer_channel, "internal", "201")
    await env.until(lambda: "201" in env.tracker.call_view(view.call_id).ringing)  # type: ignore[union-attr]
    (flow,) = [t for t in env.pbx.tasks if "atxfer" in repr(t.get_coro())]
    await actions.cancel_attended_transfer(env.link, view.transferer_channel)
    await asyncio.wait_for(flow, 5)  # it used to raise "No attended transfer in progress" here
    await env.until(lambda: env.tracker.call_view(view.call_id).ringing == ())  # type: ignore[union-attr]
    assert env.tracker.call_view(view.call_id).talking == ("100",)  # type: ignore[union-attr]

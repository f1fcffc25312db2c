"""The simulated PBX's call and list actions, answered as Asterisk 22 answers them (messages from the
recordings where they show them): DeviceStateList, ExtensionStateList, CoreShowChannels, Redirect,
BlindTransfer, Atxfer, CancelAtxfer, Originate, Hangup. `install(server)` registers them."""

from __future__ import annotations

import re
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any

from cti_daemon.ami.frames import AmiMessage
from cti_daemon.ami.simulator import flows, lists, queues, transfers
from cti_daemon.ami.simulator.pbx import Headers, SimChannel, SimPbx

if TYPE_CHECKING:
    from cti_daemon.ami.simulator.server import AmiServer, AmiSession

Handler = Callable[["AmiSession", AmiMessage], Coroutine[Any, Any, None] | None]
_CALLER_ID = re.compile(r'^\s*"?([^"<]*?)"?\s*<([^>]*)>\s*$')
# The privilege each action needs (manager.conf `write =`).
WRITE_CLASS = {
    "devicestatelist": "call",
    "extensionstatelist": "call",
    "coreshowchannels": "system",
    "redirect": "call",
    "blindtransfer": "call",
    "atxfer": "call",
    "cancelatxfer": "call",
    "originate": "originate",
    "hangup": "system",
}


def install(server: AmiServer) -> None:
    pbx = server.pbx
    handlers: dict[str, Handler] = {
        "devicestatelist": _list(
            server, "Device State Changes will follow", "DeviceStateChange", lists.device_states
        ),
        "extensionstatelist": _list(server, "Extension Statuses will follow", "ExtensionStatus", lists.hints),
        "coreshowchannels": _list(server, "Channels will follow", "CoreShowChannel", lists.channels),
        "redirect": _redirect(pbx),
        "blindtransfer": _blind_transfer(pbx),
        "atxfer": _atxfer(pbx),
        "cancelatxfer": _cancel_atxfer(pbx),
        "hangup": _hangup(pbx),
        "originate": _originate(pbx),
    }
    server.actions.update(handlers)
    queues.install(server)


_COMPLETE = {
    "DeviceStateChange": "DeviceStateListComplete",
    "ExtensionStatus": "ExtensionStateListComplete",
    "CoreShowChannel": "CoreShowChannelsComplete",
}


def _list(server: AmiServer, message: str, item: str, source: Callable[[SimPbx], list[Headers]]) -> Handler:
    complete = _COMPLETE[item]

    def handle(session: AmiSession, action: AmiMessage) -> None:
        if server.booting and item == "DeviceStateChange":
            # Just after a restart Asterisk takes logins before res_manager_devicestate is loaded.
            session.respond(action, "Error", [("Message", "Invalid/unknown command")])
            return
        items = source(server.pbx)
        session.respond(action, "Success", [("EventList", "start"), ("Message", message)])
        for headers in items:
            session.event(item, headers, action)
        session.event(complete, [("EventList", "Complete"), ("ListItems", str(len(items)))], action)

    return handle


def _channel(pbx: SimPbx, session: AmiSession, action: AmiMessage, missing: str) -> SimChannel | None:
    name = action.get("Channel", "")
    chan = pbx.channel_named(name) if name else None
    if chan is None:
        session.respond(
            action, "Error", [("Message", missing.format(name=name) if name else "No channel specified")]
        )
    return chan


def _target(session: AmiSession, action: AmiMessage) -> tuple[str, str] | None:
    context, exten = action.get("Context", ""), action.get("Exten", "")
    if not exten:
        session.respond(action, "Error", [("Message", "No extension specified")])
        return None
    return context or "internal", exten


def _redirect(pbx: SimPbx) -> Handler:
    def handle(session: AmiSession, action: AmiMessage) -> None:
        chan = _channel(pbx, session, action, "Channel does not exist: {name}")
        target = _target(session, action) if chan is not None else None
        if chan is None or target is None:
            return
        session.respond(action, "Success", [("Message", "Redirect successful")])
        transfers.redirect(pbx, chan, *target)

    return handle


def _blind_transfer(pbx: SimPbx) -> Handler:
    def handle(session: AmiSession, action: AmiMessage) -> None:
        chan = _channel(pbx, session, action, "Channel specified does not exist")
        target = _target(session, action) if chan is not None else None
        if chan is None or target is None:
            return
        if chan.bridge is None:
            session.respond(action, "Error", [("Message", "Transfer failed")])
            return
        session.respond(action, "Success", [("Message", "Transfer succeeded")])
        transfers.blind_transfer(pbx, chan, *target)

    return handle


def _atxfer(pbx: SimPbx) -> Handler:
    def handle(session: AmiSession, action: AmiMessage) -> None:
        chan = _channel(pbx, session, action, "Channel specified does not exist")
        target = _target(session, action) if chan is not None else None
        if chan is None or target is None:
            return
        if chan.bridge is None or chan.uniqueid in pbx.atxfers:
            session.respond(action, "Error", [("Message", "Atxfer failed")])
            return
        session.respond(action, "Success", [("Message", "Atxfer successfully queued")])
        pbx.spawn(transfers.atxfer(pbx, chan, *target))

    return handle


def _cancel_atxfer(pbx: SimPbx) -> Handler:
    def handle(session: AmiSession, action: AmiMessage) -> None:
        chan = _channel(pbx, session, action, "Channel specified does not exist")
        if chan is None:
            return
        if chan.uniqueid not in pbx.atxfers:
            session.respond(action, "Error", [("Message", "No attended transfer in progress")])
            return
        session.respond(action, "Success", [("Message", "CancelAtxfer queued")])
        transfers.cancel_atxfer(pbx, chan)

    return handle


def _hangup(pbx: SimPbx) -> Handler:
    def handle(session: AmiSession, action: AmiMessage) -> None:
        chan = _channel(pbx, session, action, "No such channel")
        if chan is None:
            return
        cause = action.get("Cause", "16")
        session.respond(action, "Success", [("Message", "Channel Hungup")])
        flows.hangup(pbx, chan, int(cause) if cause.isascii() and cause.isdigit() else 16, by="ami")

    return handle


def _originate(pbx: SimPbx) -> Handler:
    async def run(session: AmiSession, action: AmiMessage) -> None:
        device, exten = action.get("Channel", ""), action.get("Exten", "")
        if not device or not exten:
            session.respond(action, "Error", [("Message", "Channel and Exten are required")])
            return
        channel_id = action.get("ChannelId", "")
        if len(channel_id) > 149:  # AST_MAX_PUBLIC_UNIQUEID
            session.respond(action, "Error", [("Message", "Uniqueid length exceeds maximum of 149")])
            return
        if channel_id and any(c.uniqueid == channel_id for c in pbx.channels.values()):
            session.respond(action, "Error", [("Message", "Originate failed")])
            return
        context = action.get("Context", "internal")
        timeout = action.get("Timeout", "30000")
        parsed = _CALLER_ID.match(action.get("CallerID", ""))
        caller_id = (parsed.group(2), parsed.group(1)) if parsed else ("", "")
        wait = action.get("Async", "false").lower() not in ("true", "yes", "1")
        if not wait:
            session.respond(action, "Success", [("Message", "Originate successfully queued")])
        answered, reason, chan = await transfers.originate(
            pbx,
            device,
            context,
            exten,
            caller_id=caller_id,
            timeout_s=int(timeout) / 1000 if timeout.isascii() and timeout.isdigit() else 30.0,
            channel_id=action.get("ChannelId") or None,
        )
        if wait:
            ok = ("Success", "Originate successfully queued") if answered else ("Error", "Originate failed")
            session.respond(action, ok[0], [("Message", ok[1])])
            return
        head: Headers = [("ActionID", action["ActionID"])] if "ActionID" in action else []
        pbx.emit(
            "OriginateResponse",
            "call,all",
            [
                *head,
                ("Response", "Success" if answered else "Failure"),
                ("Channel", chan.name if answered else device),
                ("Context", context),
                ("Exten", exten),
                ("Reason", str(reason)),
                ("Uniqueid", chan.uniqueid if answered else "<null>"),
                ("CallerIDNum", chan.caller_num),
                ("CallerIDName", chan.caller_name),
            ],
        )

    return run

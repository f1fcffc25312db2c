"""The structure of an AMI event stream, ids and noise left out, so the simulator's output compares with a
recording.

Asterisk orders each channel's own events strictly, but not the events of different channels (the README
of tests/traces: "ORDER IS NOT STABLE"). So the structure is: for each channel (named by its device and
its rank among that device's channels: "PJSIP/100#1"), its events in order with what matters in them
(states, dial statuses, bridges by rank, causes, caller ids); the order channels appear in; the transfer
and Local pair events; and how many times each device and hint state was announced.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

NOISE = frozenset(
    {
        "VarSet",
        "Newexten",
        "RTCPSent",
        "RTCPReceived",
        "Cdr",
        "CEL",
        "ChallengeSent",
        "SuccessfulAuth",
        "InvalidPassword",
        "InvalidAccountID",
        "RequestNotAllowed",
        "QueueMemberStatus",
        "FullyBooted",
        "NewAccountCode",
        "ReplayComplete",
    }
)
_SUFFIX = re.compile(r"-[0-9a-f]{8}(;[12])?$")


def device_of(channel: str) -> str:
    return _SUFFIX.sub(lambda m: m.group(1) or "", channel)


@dataclass
class Structure:
    channels: dict[str, list[str]] = field(default_factory=dict)
    created: list[str] = field(default_factory=list)
    milestones: list[str] = field(default_factory=list)
    states: Counter[str] = field(default_factory=Counter)


class _Labels:
    def __init__(self) -> None:
        self.by_uid: dict[str, str] = {}
        self.per_device: Counter[str] = Counter()
        self.bridges: dict[str, str] = {}

    def channel(self, msg: Mapping[str, str], prefix: str = "") -> str | None:
        uid = msg.get(f"{prefix}Uniqueid")
        name = msg.get(f"{prefix}Channel")
        if not uid or not name:
            return None
        label = self.by_uid.get(uid)
        if label is None:
            device = device_of(name)
            self.per_device[device] += 1
            label = self.by_uid[uid] = f"{device}#{self.per_device[device]}"
        return label

    def bridge(self, bridge_id: str) -> str:
        return self.bridges.setdefault(bridge_id, f"B{len(self.bridges) + 1}")


def structure(messages: Iterable[Mapping[str, str]]) -> Structure:
    out = Structure()
    labels = _Labels()
    for msg in messages:
        event = msg.get("Event", "")
        if not event or event in NOISE or "ActionID" in msg:
            continue
        if event == "DeviceStateChange":
            if not msg.get("Device", "").startswith(("Queue:", "Local/")):
                out.states[f"{msg['Device']}={msg['State']}"] += 1
            continue
        if event == "ExtensionStatus":
            out.states[f"hint {msg['Exten']}={msg['Status']}"] += 1
            continue
        if event in ("PeerStatus", "ContactStatus"):
            who = msg.get("Peer") or msg.get("AOR", "")
            out.milestones.append(f"{event} {who} {msg.get('PeerStatus') or msg.get('ContactStatus')}")
            continue
        _channel_event(out, labels, event, msg)
    return out


def _channel_event(out: Structure, labels: _Labels, event: str, msg: Mapping[str, str]) -> None:
    me = labels.channel(msg)
    if event in ("DialBegin", "DialState", "DialEnd"):
        # Asterisk publishes these on the dialling channel: only its own order is stable. An Originate's
        # dial has no dialling channel; it then belongs to the dialled one.
        dest = labels.channel(msg, "Dest")
        status = msg.get("DialStatus", "")
        if me is not None:
            out.channels.setdefault(me, []).append(f"{event} -> {dest} {status}".rstrip())
        elif dest is not None:
            out.channels.setdefault(dest, []).append(f"{event} <- originate {status}".rstrip())
        return
    if event in ("BlindTransfer", "AttendedTransfer", "LocalBridge", "BridgeMerge", "OriginateResponse"):
        parts = [event, msg.get("Result", msg.get("Response", ""))]
        for prefix in (
            "Transferer",
            "Transferee",
            "OrigTransferer",
            "SecondTransferer",
            "LocalOne",
            "LocalTwo",
        ):
            label = labels.channel(msg, prefix)
            if label is not None:
                parts.append(f"{prefix}={label}")
        if "Extension" in msg:
            parts.append(f"to={msg['Extension']}")
        out.milestones.append(" ".join(p for p in parts if p))
        return
    if me is None:
        return  # BridgeCreate/Destroy: seen through Enter/Leave
    if event == "Newchannel":
        out.created.append(me)
    out.channels.setdefault(me, []).append(_describe(labels, event, msg))


def _describe(labels: _Labels, event: str, msg: Mapping[str, str]) -> str:
    if event in ("Newchannel", "Newstate"):
        return f"{event} {msg.get('ChannelState')}"
    if event == "NewCallerid":
        return f"NewCallerid {msg.get('CallerIDNum')} {msg.get('CallerIDName')}"
    if event == "NewConnectedLine":
        return f"NewConnectedLine {msg.get('ConnectedLineNum')}"
    if event in ("BridgeEnter", "BridgeLeave"):
        return f"{event} {labels.bridge(msg.get('BridgeUniqueid', ''))}"
    if event in ("Hangup", "HangupRequest", "SoftHangupRequest"):
        return f"{event} {msg.get('Cause')}"
    if event == "DTMFEnd":
        return f"DTMFEnd {msg.get('Digit')}"
    return event

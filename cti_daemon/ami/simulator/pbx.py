"""The simulated PBX: endpoints, channels and bridges, and the AMI events each change produces.

Every event is written with the headers, header order and privileges of the recordings of Asterisk 22 in
tests/traces/asterisk-22 (channel snapshots, Dest* snapshots, Cause-txt, the dialplan noise). Operations
are small and synchronous; scenarios (scenarios.py) string them together with the recorded timing.
"""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections.abc import Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from cti_daemon.ami.simulator.queues import DEFAULT_QUEUES, SimQueues

Headers = list[tuple[str, str]]
Listener = Callable[[str, str, Headers], None]  # (event name, privilege, headers)

STATE_DESC = {0: "Down", 4: "Ring", 5: "Ringing", 6: "Up"}
CAUSE_TEXT = {
    3: "No route to destination",
    4: "Service or option not available",
    16: "Normal Clearing",
    17: "User busy",
    19: "No user responding",
    26: "Answered elsewhere",
    127: "Interworking, unspecified",
}
HINT_STATUS = {
    "NOT_INUSE": (0, "Idle"),
    "INUSE": (1, "InUse"),
    "BUSY": (2, "Busy"),
    "UNAVAILABLE": (4, "Unavailable"),
    "RINGING": (8, "Ringing"),
    "RINGINUSE": (9, "InUse&Ringing"),
    "ONHOLD": (16, "Hold"),
}


@dataclass(slots=True)
class SimChannel:
    name: str
    uniqueid: str
    linkedid: str
    device: str
    state: int
    caller_num: str
    caller_name: str
    context: str
    exten: str
    priority: int = 1
    conn_num: str = "<unknown>"
    conn_name: str = "<unknown>"
    bridge: str | None = None
    application: str = ""
    app_data: str = ""
    created: float = field(default_factory=time.monotonic)
    gone: asyncio.Event = field(default_factory=asyncio.Event)  # set once the channel is hung up
    partner: SimChannel | None = None  # the other half of a Local pair
    held: bool = False
    picked_up: asyncio.Event = field(default_factory=asyncio.Event)  # set: the ringing phone answers now
    taken_by: SimChannel | None = None  # a ringing leg another phone picked up (pickup.py): the picker
    redirects: int = 0  # Redirects of this channel so far: a Dial it was running when redirected is over


@dataclass(slots=True)
class Endpoint:
    """A PJSIP endpoint and how its (simulated) phone behaves when it rings."""

    extension: str
    name: str
    registered: bool = True
    device_state: str = "NOT_INUSE"
    answer_after_s: float | None = 1.5  # None: rings until the caller or the dial gives up
    busy: bool = False  # answers every new call "486 Busy Here"
    call_waiting: bool = True  # False: busy while it has a call

    def rejects(self) -> bool:
        return self.busy or (not self.call_waiting and self.device_state in ("INUSE", "RINGINUSE", "ONHOLD"))


@dataclass(slots=True)
class SimBridge:
    id: str
    channels: list[str] = field(default_factory=list)


class SimPbx:
    """Mutable PBX state; every mutation emits its events to the listeners (the AMI sessions)."""

    def __init__(
        self,
        endpoints: dict[str, str] | None = None,
        *,
        rng: random.Random | None = None,
        queues: Mapping[str, Sequence[str]] | None = None,
        system_name: str = "",
    ) -> None:
        names = endpoints or {"100": "Reception", "201": "Staff 201", "202": "Staff 202", "203": "Staff 203"}
        self.endpoints = {ext: Endpoint(ext, name) for ext, name in names.items()}
        self.channels: dict[str, SimChannel] = {}  # by uniqueid
        self.bridges: dict[str, SimBridge] = {}
        self.listeners: list[Listener] = []
        self.rng = rng or random.Random()
        self.boot = int(time.time()) - 60
        # Static queue members (queues.conf `member => PJSIP/202`): queue name -> member extensions.
        self.queues = SimQueues(self.emit, DEFAULT_QUEUES if queues is None else queues, self.boot)
        self._epoch = int(time.time())
        # Asterisk's `systemname` (asterisk.conf) prefixes every uniqueid, so calls of several PBXes sharing
        # one journal never share an id (cacofonisk's traces show it: 195176c06ab8-1529939196.518).
        self._id_prefix = f"{system_name}-" if system_name else ""
        self._seq = 0
        self._chan_seq = 0
        self._local_seq = 0
        self.trunk_state = "NOT_INUSE"
        self.speed = 1.0  # every simulated delay is multiplied by this (tests run at 0.01)
        self.quiet = False  # True: state changes, nobody hears of them (the AMI port is down)
        self.dialing: dict[str, list[SimChannel]] = {}  # caller uniqueid -> the legs it rings
        self.atxfers: dict[str, Any] = {}  # transferer uniqueid -> its attended transfer (flows.Atxfer)
        self.tasks: set[asyncio.Task[Any]] = set()

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        """Run a call flow in the background (kept until it ends, cancelled by `cancel_flows`)."""
        task = asyncio.get_running_loop().create_task(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return task

    def cancel_flows(self) -> None:
        for task in list(self.tasks):
            task.cancel()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds * self.speed)

    def pick_up(self, extension: str) -> bool:
        """The phone of `extension` answers the call it rings with, now, whatever its endpoint's
        `answer_after_s` says (tests drive a phone by hand with it). False when it rings with nothing."""
        ringing = [c for c in self.channels.values() if c.device == f"PJSIP/{extension}" and c.state == 5]
        for chan in ringing:
            chan.picked_up.set()
        return bool(ringing)

    def channel_named(self, name: str) -> SimChannel | None:
        for chan in self.channels.values():
            if chan.name == name:
                return chan
        return None

    # --- emission ------------------------------------------------------------------------------------
    def emit(self, event: str, privilege: str, headers: Headers) -> None:
        if self.quiet:
            return
        for listener in list(self.listeners):
            listener(event, privilege, headers)

    def _chan_event(
        self, event: str, chan: SimChannel, extra: Headers | None = None, privilege: str = "call,all"
    ) -> None:
        self.emit(event, privilege, [*snapshot(chan), *(extra or [])])

    # --- ids -----------------------------------------------------------------------------------------
    def new_uniqueid(self) -> str:
        uid = f"{self._id_prefix}{self._epoch}.{self._seq}"
        self._seq += 1
        return uid

    def _channel_name(self, device: str) -> str:
        name = f"{device}-{self._chan_seq:08x}"
        self._chan_seq += 1
        return name

    def local_pair_names(self, target: str) -> tuple[str, str]:
        """Local/201@internal-00000000;1 and ;2 (their own counter, as in Asterisk)."""
        base = f"Local/{target}-{self._local_seq:08x}"
        self._local_seq += 1
        return f"{base};1", f"{base};2"

    # --- channels ------------------------------------------------------------------------------------
    def new_channel(
        self,
        device: str,
        *,
        caller_num: str,
        caller_name: str,
        context: str,
        exten: str,
        state: int,
        linkedid: str | None = None,
        name: str | None = None,
        uniqueid: str | None = None,
    ) -> SimChannel:
        uid = uniqueid or self.new_uniqueid()
        chan = SimChannel(
            name or self._channel_name(device),
            uid,
            linkedid or uid,
            device,
            state,
            caller_num,
            caller_name,
            context,
            exten,
        )
        self.channels[uid] = chan
        self._chan_event("Newchannel", chan)
        return chan

    def set_state(self, chan: SimChannel, state: int) -> None:
        chan.state = state
        self._chan_event("Newstate", chan)

    def connected_line(self, chan: SimChannel, num: str, name: str) -> None:
        chan.conn_num, chan.conn_name = num, name
        self._chan_event("NewConnectedLine", chan)

    def caller_id(self, chan: SimChannel, num: str, name: str) -> None:
        chan.caller_num, chan.caller_name = num, name
        self._chan_event("NewCallerid", chan, [("CID-CallingPres", "0 (Presentation Allowed, Not Screened)")])

    def varset(self, chan: SimChannel, variable: str, value: str) -> None:
        self._chan_event("VarSet", chan, [("Variable", variable), ("Value", value)], privilege="dialplan,all")

    def newexten(self, chan: SimChannel, application: str, data: str) -> None:
        self._chan_event(
            "Newexten",
            chan,
            [("Extension", chan.exten), ("Application", application), ("AppData", data)],
            privilege="dialplan,all",
        )

    def dial_begin(self, caller: SimChannel, dest: SimChannel, dialstring: str) -> None:
        self.emit(
            "DialBegin", "call,all", [*snapshot(caller), *snapshot(dest, "Dest"), ("DialString", dialstring)]
        )

    def dial_state(self, caller: SimChannel, dest: SimChannel, status: str) -> None:
        self.emit(
            "DialState", "call,all", [*snapshot(caller), *snapshot(dest, "Dest"), ("DialStatus", status)]
        )

    def dial_end(self, caller: SimChannel, dest: SimChannel, status: str) -> None:
        self.emit("DialEnd", "call,all", [*snapshot(caller), *snapshot(dest, "Dest"), ("DialStatus", status)])

    def hangup_request(self, chan: SimChannel, cause: int, *, soft: bool = False) -> None:
        self._chan_event("SoftHangupRequest" if soft else "HangupRequest", chan, [("Cause", str(cause))])

    def hangup(self, chan: SimChannel, cause: int, extra: Headers | None = None) -> None:
        self.channels.pop(chan.uniqueid, None)
        chan.gone.set()
        self._chan_event(
            "Hangup",
            chan,
            [("Cause", str(cause)), ("Cause-txt", CAUSE_TEXT.get(cause, "Unknown")), *(extra or [])],
        )

    # --- bridges -------------------------------------------------------------------------------------
    def bridge_create(self) -> SimBridge:
        bridge = SimBridge(str(uuid.UUID(int=self.rng.getrandbits(128), version=4)))
        self.bridges[bridge.id] = bridge
        self.emit("BridgeCreate", "call,all", bridge_headers(bridge))
        return bridge

    def bridge_enter(self, bridge: SimBridge, chan: SimChannel) -> None:
        bridge.channels.append(chan.uniqueid)
        chan.bridge = bridge.id
        self.emit("BridgeEnter", "call,all", [*bridge_headers(bridge), *snapshot(chan)])

    def bridge_leave(self, bridge: SimBridge, chan: SimChannel) -> None:
        if chan.uniqueid in bridge.channels:
            bridge.channels.remove(chan.uniqueid)
        chan.bridge = None
        self.emit("BridgeLeave", "call,all", [*bridge_headers(bridge), *snapshot(chan)])

    def bridge_destroy(self, bridge: SimBridge) -> None:
        self.bridges.pop(bridge.id, None)
        self.emit("BridgeDestroy", "call,all", bridge_headers(bridge))

    # --- devices -------------------------------------------------------------------------------------
    def device_state(self, device: str, state: str) -> None:
        self.emit("DeviceStateChange", "call,all", [("Device", device), ("State", state)])

    def refresh_endpoint(self, extension: str) -> None:
        """Recompute an endpoint's device state from its channels; emit the device, hint and queue events
        in one of the two orders real Asterisk uses (it is not stable)."""
        ep = self.endpoints[extension]
        device = f"PJSIP/{extension}"
        states = [c.state for c in self.channels.values() if c.device == device]
        in_use = any(state not in (0, 5) for state in states)
        if not ep.registered:
            new = "UNAVAILABLE"
        elif in_use and 5 in states:
            new = "RINGINUSE"
        elif in_use:
            new = "INUSE"
        elif 5 in states:
            new = "RINGING"
        else:
            new = "NOT_INUSE"
        if new == ep.device_state:
            return
        ep.device_state = new
        code, text = HINT_STATUS[new]
        device_event = ("DeviceStateChange", "call,all", [("Device", device), ("State", new)])
        hint_event = (
            "ExtensionStatus",
            "call,all",
            [
                ("Exten", extension),
                ("Context", "internal"),
                ("Hint", device),
                ("Status", str(code)),
                ("StatusText", text),
            ],
        )
        first, second = (device_event, hint_event) if self.rng.random() < 0.5 else (hint_event, device_event)
        self.emit(*first)
        self.emit(*second)
        self.queues.device_changed(extension, new)

    def set_trunk(self, state: str) -> None:
        if state != self.trunk_state:
            self.trunk_state = state
            self.device_state("PJSIP/trunk", state)


def snapshot(chan: SimChannel, prefix: str = "") -> Headers:
    return [
        (f"{prefix}Channel", chan.name),
        (f"{prefix}ChannelState", str(chan.state)),
        (f"{prefix}ChannelStateDesc", STATE_DESC.get(chan.state, "Unknown")),
        (f"{prefix}CallerIDNum", chan.caller_num),
        (f"{prefix}CallerIDName", chan.caller_name),
        (f"{prefix}ConnectedLineNum", chan.conn_num),
        (f"{prefix}ConnectedLineName", chan.conn_name),
        (f"{prefix}Language", "en"),
        (f"{prefix}AccountCode", ""),
        (f"{prefix}Context", chan.context),
        (f"{prefix}Exten", chan.exten),
        (f"{prefix}Priority", str(chan.priority)),
        (f"{prefix}Uniqueid", chan.uniqueid),
        (f"{prefix}Linkedid", chan.linkedid),
    ]


def bridge_headers(bridge: SimBridge) -> Headers:
    return [
        ("BridgeUniqueid", bridge.id),
        ("BridgeType", "basic"),
        ("BridgeTechnology", "simple_bridge"),
        ("BridgeCreator", "<unknown>"),
        ("BridgeName", "<unknown>"),
        ("BridgeNumChannels", str(len(bridge.channels))),
        ("BridgeVideoSourceMode", "none"),
    ]

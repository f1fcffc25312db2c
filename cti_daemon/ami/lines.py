"""Line status per extension, from device states, hint states, or (when neither comes) the channels.

An extension with several devices (desk phone and softphone) is one line: it is talking if any device
talks, ringing if any rings, ready if any is ready, offline only when all are. A line counts its devices
per status, so a device's news costs the same whatever the number of devices, and keeps at most
`DEVICES_MAX` of them (the directory only maps phones to lines; the bound holds whatever it maps).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from cti_daemon.ami.call_events import LineChanged, LineStatus, QueueMembership

DEVICE_STATES: dict[str, LineStatus] = {
    "NOT_INUSE": LineStatus.READY,
    "INUSE": LineStatus.TALKING,
    "BUSY": LineStatus.TALKING,
    "ONHOLD": LineStatus.TALKING,
    "RINGINUSE": LineStatus.TALKING,
    "RINGING": LineStatus.RINGING,
    "UNAVAILABLE": LineStatus.OFFLINE,
    "INVALID": LineStatus.OFFLINE,
    "UNKNOWN": LineStatus.UNKNOWN,
    # The human forms of endpoint lists (PJSIPShowEndpoints "DeviceState: Not in use").
    "NOT IN USE": LineStatus.READY,
    "IN USE": LineStatus.TALKING,
    "ON HOLD": LineStatus.TALKING,
    "RINGING IN USE": LineStatus.TALKING,
}

# ExtensionStatus / ExtensionStateList "Status:" (a bit mask: 1 in use, 2 busy, 4 unavailable, 8 ringing,
# 16 on hold; -1 no hint, -2 removed).
HINT_STATES: dict[int, LineStatus] = {
    0: LineStatus.READY,
    1: LineStatus.TALKING,
    2: LineStatus.TALKING,
    4: LineStatus.OFFLINE,
    8: LineStatus.RINGING,
    9: LineStatus.TALKING,
    16: LineStatus.TALKING,
    17: LineStatus.TALKING,
    -1: LineStatus.UNKNOWN,
    -2: LineStatus.OFFLINE,
}

_RANK = {
    LineStatus.TALKING: 4,
    LineStatus.RINGING: 3,
    LineStatus.READY: 2,
    LineStatus.UNKNOWN: 1,
    LineStatus.OFFLINE: 0,
}
_BY_RANK = sorted(_RANK, key=_RANK.__getitem__, reverse=True)
DEVICES_MAX = 32
QUEUES_MAX = 64


def device_status(state: str) -> LineStatus:
    return DEVICE_STATES.get(state.strip().upper(), LineStatus.UNKNOWN)


def hint_status(status: str) -> LineStatus:
    try:
        return HINT_STATES.get(int(status), LineStatus.UNKNOWN)
    except ValueError:
        return LineStatus.UNKNOWN


@dataclass(slots=True)
class Line:
    """One extension. Its inputs, most precise first: device states, the hint, what its channels say,
    whether a phone is registered (ContactStatus/PeerStatus) when nothing else is known."""

    extension: str
    status: LineStatus = LineStatus.UNKNOWN
    call_id: str | None = None
    devices: dict[str, LineStatus] = field(default_factory=dict)
    device_counts: dict[LineStatus, int] = field(default_factory=dict)  # devices per status, for aggregate
    hint: LineStatus | None = None
    from_channels: LineStatus | None = None
    channel_call: str | None = None  # the call of its busiest channel; None when it has none
    registered: bool | None = None
    # The queues its phone is a member of: their pause state is the member's, never the line's status.
    queues: dict[str, QueueMembership] = field(default_factory=dict)
    queue_view: tuple[QueueMembership, ...] = ()  # `queues` sorted by name: what is published
    published_queues: tuple[QueueMembership, ...] = ()

    def set_device(self, device: str, status: LineStatus) -> bool:
        """Record a device's status; False when the line already keeps `DEVICES_MAX` other devices."""
        old = self.devices.get(device)
        if old is None and len(self.devices) >= DEVICES_MAX:
            return False
        if old is not None:
            self.device_counts[old] -= 1
        self.devices[device] = status
        self.device_counts[status] = self.device_counts.get(status, 0) + 1
        return True

    def aggregate(self) -> LineStatus:
        if self.devices:
            return next(status for status in _BY_RANK if self.device_counts.get(status, 0) > 0)
        if self.hint is not None:
            return self.hint
        if self.registered is False:
            return LineStatus.OFFLINE
        if self.from_channels is not None:
            return self.from_channels
        if self.registered:
            return LineStatus.READY
        return LineStatus.UNKNOWN


_BUSY = (LineStatus.RINGING, LineStatus.TALKING)


class LineBook:
    """Every known line; each setter returns the LineChanged to publish, or None when nothing changed.

    A line's call is the call its channels are in, whichever input said ringing or talking first: the
    order of device, hint and channel events is not stable (Asterisk sends the hint before the channel's
    Ringing state in one recording, after it in another), the published call must not depend on it.
    """

    def __init__(self) -> None:
        self._lines: dict[str, Line] = {}

    def get(self, extension: str) -> Line:
        line = self._lines.get(extension)
        if line is None:
            line = self._lines[extension] = Line(extension)
        return line

    def lines(self) -> dict[str, Line]:
        return self._lines

    def set_device(self, extension: str, device: str, status: LineStatus) -> LineChanged | None:
        line = self.get(extension)
        if not line.set_device(device.lower(), status):
            return None
        return self._settle(line)

    def set_hint(self, extension: str, status: LineStatus) -> LineChanged | None:
        line = self.get(extension)
        line.hint = status
        return self._settle(line)

    def set_registered(self, extension: str, *, registered: bool) -> LineChanged | None:
        line = self.get(extension)
        line.registered = registered
        return self._settle(line)

    def set_queue(self, extension: str, membership: QueueMembership) -> LineChanged | None:
        """A queue membership and its pause state (QueueMemberStatus, QueueMemberPause, QueueMember)."""
        line = self.get(extension)
        if line.queues.get(membership.queue) == membership:
            return None
        if membership.queue not in line.queues and len(line.queues) >= QUEUES_MAX:
            return None
        line.queues[membership.queue] = membership
        line.queue_view = tuple(sorted(line.queues.values()))
        return self._settle(line)

    def drop_queue(self, extension: str, queue: str) -> LineChanged | None:
        line = self._lines.get(extension)
        if line is None or line.queues.pop(queue, None) is None:
            return None
        line.queue_view = tuple(sorted(line.queues.values()))
        return self._settle(line)

    def replace_queues(self, extension: str, memberships: list[QueueMembership]) -> LineChanged | None:
        """Every membership of the line at once (a QueueStatus list is the whole truth)."""
        line = self.get(extension)
        line.queues = {m.queue: m for m in memberships[:QUEUES_MAX]}
        line.queue_view = tuple(sorted(line.queues.values()))
        return self._settle(line)

    def set_from_channels(
        self, extension: str, status: LineStatus | None, call_id: str | None = None
    ) -> LineChanged | None:
        """What the channels say: `status` None means no channel of the line tells anything (none left,
        or only ones not yet rung): after ringing or talking that means ready again, else nothing new."""
        line = self.get(extension)
        if status is None:
            status = LineStatus.READY if line.from_channels in _BUSY else line.from_channels
        line.from_channels = status
        line.channel_call = call_id
        return self._settle(line)

    def _settle(self, line: Line) -> LineChanged | None:
        status = line.aggregate()
        # With its channels gone, a line the device still says busy keeps its call until the device
        # catches up (the Hangup comes before the DeviceStateChange): no "talking, no call" flicker.
        call_id = (line.channel_call or line.call_id) if status in _BUSY else None
        if status is line.status and call_id == line.call_id and line.queue_view == line.published_queues:
            return None
        line.status = status
        line.call_id = call_id
        line.published_queues = line.queue_view
        return LineChanged(line.extension, status, call_id, line.queue_view)

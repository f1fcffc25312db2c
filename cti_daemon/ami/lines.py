"""Line status per extension, from device states, hint states, or (when neither comes) the channels.

An extension with several devices (desk phone and softphone) is one line: it is talking if any device
talks, ringing if any rings, ready if any is ready, offline only when all are.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from cti_daemon.ami.call_events import LineChanged, LineStatus

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
    hint: LineStatus | None = None
    from_channels: LineStatus | None = None
    channel_call: str | None = None  # the call of its busiest channel; None when it has none
    registered: bool | None = None

    def aggregate(self) -> LineStatus:
        if self.devices:
            return max(self.devices.values(), key=_RANK.__getitem__)
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
        line.devices[device.lower()] = status
        return self._settle(line)

    def set_hint(self, extension: str, status: LineStatus) -> LineChanged | None:
        line = self.get(extension)
        line.hint = status
        return self._settle(line)

    def set_registered(self, extension: str, *, registered: bool) -> LineChanged | None:
        line = self.get(extension)
        line.registered = registered
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
        if status is line.status and call_id == line.call_id:
            return None
        line.status = status
        line.call_id = call_id
        return LineChanged(line.extension, status, call_id)

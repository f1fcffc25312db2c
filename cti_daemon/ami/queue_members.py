"""Queue members as Asterisk's app_queue reports them (QueueMemberStatus, QueueMemberPause, QueueMemberAdded,
QueueMemberRemoved, and the QueueMember items of a QueueStatus list): which phone is a member of which
queue, and whether the member is paused. Pure: a message in, the member's device and membership out.

A member's pause state is not its phone's state: Asterisk also announces it as a device
(`Queue:service_pause_PJSIP/202` INUSE while paused), which the directory maps to no line.
"""

from __future__ import annotations

from collections.abc import Mapping

from cti_daemon.ami.call_events import QueueMembership

MEMBER_EVENTS = frozenset({"QueueMemberStatus", "QueueMemberPause", "QueueMemberAdded"})
REASON_MAX = 200  # a PausedReason is free text from whoever paused the member


def member_device(msg: Mapping[str, str]) -> str:
    """The device whose state is the member's: StateInterface (a member `Local/202@from-queue/n` may
    watch `PJSIP/202`), else the interface (`Interface` live, `Location` in QueueStatus lists)."""
    for key in ("StateInterface", "Interface", "Location", "MemberName", "Name"):
        value = msg.get(key, "")
        if value:
            return value
    return ""


def membership(msg: Mapping[str, str]) -> QueueMembership | None:
    """The membership a member event or list item describes; None without a queue name."""
    queue = msg.get("Queue", "")
    if not queue:
        return None
    paused = msg.get("Paused", "0").strip() == "1"
    reason = msg.get("PausedReason", "").strip()[:REASON_MAX] if paused else ""
    return QueueMembership(queue, paused, reason or None)

"""One call, one contact, across a restart of the daemon: a call that rings while no daemon watches (killed,
restarted, the AMI link down) is adopted from Asterisk's channel list afterwards. Its ring may have
registered a contact already, in the store (shared between restarts and nodes) or in the spool: that one
is the call's contact, and the call rang since the channel says (its Duration), not since the adoption.

Pure: the contacts found for the call id in, the decision out.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from cti_daemon.crm.journal_store import ContactRecord


@dataclass(frozen=True, slots=True)
class Adoption:
    contact: ContactRecord | None  # the contact the call already has; None: the ring registers one now
    rang_at: datetime  # when the call started ringing, as the PBX tells it


def adopt(
    found: Iterable[ContactRecord], *, call_id: str, node_id: str, now: datetime, rang_s: float
) -> Adoption:
    """`found`: the journal's contacts with this call id (store and spool, duplicates allowed). Only this
    node's count: another node's Asterisk hands out its own ids, and the same id there is another call.
    Of several (the duplicates an older version made), the first registered is the call's."""
    mine = {r.id: r for r in found if r.call_id == call_id and r.node_id in (node_id, None)}
    contact = min(mine.values(), key=lambda r: (r.created_at, r.id), default=None)
    return Adoption(contact, now - timedelta(seconds=max(rang_s, 0.0)))

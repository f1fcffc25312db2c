"""One call, one contact across a daemon restart: which contact an adopted ringing call already has, and
since when it rings (pure)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from cti_daemon.crm.journal_store import ContactRecord
from cti_daemon.routing.adopted_calls import adopt

NOW = datetime(2026, 12, 7, 9, 0, 30, tzinfo=UTC)


def _contact(
    contact_id: str, *, call_id: str = "1795507019.0", node: str | None = "a", ago_s: float = 20.0
) -> ContactRecord:
    return ContactRecord(
        id=contact_id,
        type="call",
        status="registered",
        created_at=NOW - timedelta(seconds=ago_s),
        created_by="pbx",
        call_id=call_id,
        node_id=node,
    )


def test_given_the_ring_registered_a_contact_before_the_restart_then_the_adopted_call_takes_it() -> None:
    before = _contact("c-1")
    adoption = adopt([before], call_id="1795507019.0", node_id="a", now=NOW, rang_s=21)
    assert adoption.contact == before
    assert adoption.rang_at == NOW - timedelta(seconds=21), "the ring started when the channel says"


def test_given_no_contact_for_the_call_then_the_ring_registers_one_and_it_rang_since_the_channel_says() -> (
    None
):
    adoption = adopt([], call_id="1795507019.0", node_id="a", now=NOW, rang_s=7)
    assert adoption.contact is None and adoption.rang_at == NOW - timedelta(seconds=7)


def test_given_the_same_contact_in_the_spool_and_in_the_store_then_it_is_that_one() -> None:
    spooled, stored = _contact("c-1"), _contact("c-1")
    assert adopt([spooled, stored], call_id="1795507019.0", node_id="a", now=NOW, rang_s=3).contact == stored


def test_given_duplicates_from_an_older_version_then_the_first_registered_is_the_calls() -> None:
    first, second = _contact("c-2", ago_s=30), _contact("c-1", ago_s=5)
    adoption = adopt([second, first], call_id="1795507019.0", node_id="a", now=NOW, rang_s=31)
    assert adoption.contact == first


def test_given_the_same_call_id_on_another_node_then_it_is_another_call() -> None:
    other_node = _contact("c-9", node="b")
    assert adopt([other_node], call_id="1795507019.0", node_id="a", now=NOW, rang_s=3).contact is None


def test_given_a_contact_of_another_call_then_it_is_not_taken() -> None:
    other_call = _contact("c-8", call_id="1795507019.4")
    assert adopt([other_call], call_id="1795507019.0", node_id="a", now=NOW, rang_s=3).contact is None

"""Presence rules: built-in and custom statuses, notes, logged in or not, busy reset on reconnect."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from cti_daemon.routing.presence import NOTE_MAX, PresenceBook, PresenceRefused

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def _set(book: PresenceBook, status: object, note: object = "") -> None:
    book.request("e-201", json.dumps({"status": status, "note": note}).encode(), T0)


def test_given_built_in_and_custom_statuses_then_they_are_accepted_with_a_note() -> None:
    book = PresenceBook(["lunch"])
    _set(book, "busy", "новых клиентов не переводить")
    presence = book.get("e-201")
    assert presence is not None and (presence.status, presence.note) == (
        "busy",
        "новых клиентов не переводить",
    )
    _set(book, "lunch")
    assert book.get("e-201").status == "lunch"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b"not json", "not JSON"),
        (b"[1,2]", "JSON object"),
        (json.dumps({"status": "sleeping"}).encode(), "status must be one of"),
        (json.dumps({"status": "busy", "note": 5}).encode(), "note must be a string"),
        (json.dumps({"status": "busy", "note": "x" * (NOTE_MAX + 1)}).encode(), "longer than 200"),
        (b"\xff\xfe", "not JSON"),
    ],
)
def test_given_bad_requests_then_refused_with_the_reason_and_nothing_changes(
    payload: bytes, reason: str
) -> None:
    book = PresenceBook()
    _set(book, "away")
    with pytest.raises(PresenceRefused, match=reason):
        book.request("e-201", payload, T0)
    assert book.get("e-201").status == "away"  # type: ignore[union-attr]


def test_given_busy_agent_whose_client_went_offline_when_it_comes_back_then_available() -> None:
    book = PresenceBook()
    book.client("e-201", b"online", T0)
    _set(book, "busy", "meeting")
    assert book.client("e-201", b"offline", T0).client == "offline"  # type: ignore[union-attr]
    back = book.client("e-201", b'"online"', T0)
    assert back is not None and (back.status, back.client) == ("available", "online")


def test_given_away_agent_reconnecting_then_status_is_kept() -> None:
    book = PresenceBook()
    book.client("e-201", b"online", T0)
    _set(book, "away", "at lunch")
    book.client("e-201", b"offline", T0)
    back = book.client("e-201", b"online", T0)
    assert back is not None and (back.status, back.note) == ("away", "at lunch")


def test_given_the_same_client_state_twice_then_nothing_to_publish() -> None:
    book = PresenceBook()
    assert book.client("e-201", b"online", T0) is not None
    assert book.client("e-201", b"online", T0) is None
    with pytest.raises(PresenceRefused):
        book.client("e-201", b"maybe", T0)

"""Presence rules: built-in and custom statuses, notes, logged in or not, busy reset on reconnect."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from cti_daemon.mqtt.inbound import PresenceRequest
from cti_daemon.routing.presence import NOTE_MAX, PresenceBook, PresenceRefused

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def _set(book: PresenceBook, status: str, note: str | None = None) -> None:
    book.request(PresenceRequest("e-201", status, note), T0)


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
    ("status", "note", "reason"),
    [
        ("sleeping", None, "is not one of available, busy, away"),
        ("busy", "x" * (NOTE_MAX + 1), "longer than 200"),
    ],
)
def test_given_a_request_not_allowed_then_refused_with_the_reason_and_nothing_changes(
    status: str, note: str | None, reason: str
) -> None:
    book = PresenceBook()
    _set(book, "away")
    with pytest.raises(PresenceRefused, match=reason):
        _set(book, status, note)
    assert book.get("e-201").status == "away"  # type: ignore[union-attr]


def test_given_busy_agent_whose_client_went_offline_when_it_comes_back_then_available() -> None:
    book = PresenceBook()
    book.client("e-201", "online", T0)
    _set(book, "busy", "meeting")
    assert book.client("e-201", "offline", T0).client == "offline"  # type: ignore[union-attr]
    back = book.client("e-201", "online", T0)
    assert back is not None and (back.status, back.client) == ("available", "online")


def test_given_away_agent_reconnecting_then_status_and_note_are_kept() -> None:
    book = PresenceBook()
    book.client("e-201", "online", T0)
    _set(book, "away", "at lunch")
    book.client("e-201", "offline", T0)
    back = book.client("e-201", "online", T0)
    assert back is not None and (back.status, back.note) == ("away", "at lunch")


def test_given_the_same_client_state_twice_then_nothing_to_publish() -> None:
    book = PresenceBook()
    assert book.client("e-201", "online", T0) is not None
    assert book.client("e-201", "online", T0) is None


def test_given_the_employee_list_when_someone_else_asks_for_a_presence_then_refused() -> None:
    book = PresenceBook()
    book.know_employees({"e-201"})
    with pytest.raises(PresenceRefused, match="'evil' is not an employee"):
        book.request(PresenceRequest("evil", "busy", None), T0)
    with pytest.raises(PresenceRefused, match="not an employee"):
        book.client("evil", "online", T0)
    assert book.get("evil") is None
    _set(book, "busy")
    assert book.get("e-201") is not None

"""How the agent client prints what it reads besides pops: notifications, lines, its presence."""

from __future__ import annotations

from cti_daemon.agent.card import render_line, render_notify, render_presence


def test_given_a_transfer_notification_then_one_line_with_kind_text_and_contact() -> None:
    note = {"v": 1, "kind": "queue_reminder", "text": "Visitor waiting 5 min", "contact_id": "0190-ab"}
    assert render_notify(note) == "  ! queue reminder: Visitor waiting 5 min  (contact 0190-ab)"
    assert render_notify({"kind": "assigned", "text": "x", "contact_id": None}) == "  ! assigned: x"


def test_given_lines_then_the_call_and_employee_show_only_when_there() -> None:
    ringing = {"extension": "201", "status": "ringing", "employee_id": "e-201", "call_id": "17.4"}
    assert render_line(ringing) == "  line 201 (e-201): ringing  call 17.4"
    assert render_line({"extension": "300", "status": "offline", "employee_id": None, "call_id": None}) == (
        "  line 300: offline"
    )


def test_given_presence_then_status_note_and_client() -> None:
    busy = {"status": "busy", "note": "at lunch", "client": "online"}
    assert render_presence(busy) == "  presence: busy — at lunch (client online)"
    assert render_presence({"status": "away", "note": None, "client": "offline"}) == (
        "  presence: away (client offline)"
    )


def test_given_a_pop_carrying_the_contact_then_the_card_shows_what_reception_wrote() -> None:
    from cti_daemon.agent.card import render  # noqa: PLC0415

    pop = {
        "type": "popup",
        "call_id": "17.4",
        "extension": "201",
        "employee_id": "e-201",
        "at": "2026-11-23T09:00:00Z",
        "caller": {"number": None, "raw": "anonymous", "name": None},
        "identified": False,
        "customer": None,
        "reason": "number withheld",
        "contact_id": "k1",
        "contact": {
            "description": "brakes squeal",
            "written_by": "reception-console",
            "notes": [{"author": "anna", "at": "2026-11-23T09:00:00Z", "text": "calls back at 15:00"}],
        },
    }
    text = render(pop)
    assert "│ From reception (reception-console): brakes squeal" in text
    assert "│ Note by anna: calls back at 15:00" in text
    assert "Journal: contact" not in text  # the contact itself is shown, not just its id
    bare = render({**pop, "contact": None})
    assert "│ Journal: contact k1" in bare

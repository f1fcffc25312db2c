"""Who gets told about a contact."""

from __future__ import annotations

from cti_daemon.routing.notify_rules import ContactFacts, on_assignment, queue_reminders, transfer_notice


def _contact(responsible: str | None = None) -> ContactFacts:
    return ContactFacts("k1", "visit", "service", "repair", responsible, "Ivan Petrov", None, "clutch noise")


def test_given_a_responsible_employee_then_only_they_are_notified_as_assigned() -> None:
    [notice] = on_assignment(_contact("e-201"), ["e-201", "e-203"])
    assert (notice.employee_id, notice.kind) == ("e-201", "assigned")
    assert (
        "Ivan Petrov" in notice.text and "service / repair" in notice.text and "clutch noise" in notice.text
    )


def test_given_no_responsible_then_every_member_of_the_purpose_gets_the_group_notice() -> None:
    notices = on_assignment(_contact(), ["e-201", "e-203"])
    assert [(n.employee_id, n.kind) for n in notices] == [
        ("e-201", "purpose_group"),
        ("e-203", "purpose_group"),
    ]


def test_given_a_waiting_visitor_then_reception_and_the_handlers_are_reminded_once_each() -> None:
    notices = queue_reminders(_contact(), ["e-100"], ["e-201", "e-100"], waiting_minutes=10)
    assert [n.employee_id for n in notices] == ["e-100", "e-201"]
    assert all(n.kind == "queue_reminder" and "10 min" in n.text for n in notices)
    assert [n.employee_id for n in queue_reminders(_contact("e-202"), ["e-100"], ["e-201"], 5)] == [
        "e-100",
        "e-202",
    ]


def test_a_transfer_notice_names_where_the_call_comes_from() -> None:
    attended = transfer_notice(_contact(), "e-201", "100", attended=True)
    assert attended.text.endswith("100 speaks to you first")
    notice = transfer_notice(_contact(), "e-201", "100")
    assert (notice.employee_id, notice.kind) == ("e-201", "transfer") and "from 100" in notice.text

"""The journal's rules on plain data: what a registration needs, the auto purpose, allowed transitions."""

from __future__ import annotations

import pytest

from cti_daemon.routing.journal_rules import (
    TRANSITIONS,
    ContactStatus,
    ContactType,
    OpenDocument,
    Registration,
    TransitionError,
    check_transition,
    choose_purpose,
    initial_status,
    validate,
)

PURPOSES = {
    "service": ["maintenance", "repair"],
    "showroom": ["test drive"],
    "shop": [],
    "feedback": [],
    "other": [],
}
STAFF = ["e-100", "e-201"]


def _fields(reg: Registration) -> list[str]:
    return [p.field for p in validate(reg, PURPOSES, STAFF)]


@pytest.mark.parametrize(
    "given",
    [
        {"customer_id": "c-1"},
        {"caller_phone": "+79161234567"},
        {"tax_id": "7701234567"},
        {"vehicle_id": "v-1"},
        {"document_number": "RO-1001"},
    ],
)
def test_given_any_one_identifying_field_then_a_registration_is_valid(given: dict[str, str]) -> None:
    assert _fields(Registration(ContactType.CALL, **given)) == []  # type: ignore[arg-type]


def test_given_no_identifying_field_then_the_registration_is_refused_naming_what_is_needed() -> None:
    problems = validate(Registration(ContactType.VISIT, description="someone"), PURPOSES, STAFF)
    assert [p.field for p in problems] == ["customer_id"]
    assert "caller.phone" in problems[0].message and "document_number" in problems[0].message


def test_given_a_transfer_then_only_the_responsible_employee_is_needed() -> None:
    assert _fields(Registration(ContactType.CALL, transfer=True, responsible_employee_id="e-201")) == []
    assert _fields(Registration(ContactType.CALL, transfer=True)) == ["responsible_employee_id"]
    assert _fields(Registration(ContactType.VISIT, transfer=True, responsible_employee_id="e-201")) == [
        "transfer"
    ]


def test_given_unknown_purpose_level_or_employee_then_each_is_named() -> None:
    reg = Registration(
        ContactType.CALL,
        customer_id="c-1",
        purpose="service",
        sub_purpose="tyres",
        responsible_employee_id="e-999",
    )
    assert _fields(reg) == ["sub_purpose", "responsible_employee_id"]
    assert _fields(Registration(ContactType.CALL, customer_id="c-1", purpose="parking")) == ["purpose"]
    assert _fields(Registration(ContactType.CALL, customer_id="c-1", queued=True)) == ["queued"]


def test_given_no_purpose_and_open_documents_then_the_first_documents_purpose_is_taken_as_auto() -> None:
    docs = [OpenDocument("repair_order", None), OpenDocument("sale", "showroom")]
    choice = choose_purpose(Registration(ContactType.CALL, customer_id="c-1"), docs)
    assert (choice.code, choice.auto) == ("service", True)
    given = choose_purpose(Registration(ContactType.CALL, customer_id="c-1", purpose="shop"), docs)
    assert (given.code, given.auto) == ("shop", False)
    assert choose_purpose(Registration(ContactType.CALL, customer_id="c-1"), []).code is None


def test_given_a_responsible_employee_then_the_contact_starts_assigned() -> None:
    assert initial_status(
        Registration(ContactType.CALL, customer_id="c", responsible_employee_id="e-201")
    ) == (ContactStatus.ASSIGNED)
    assert initial_status(Registration(ContactType.CALL, customer_id="c")) is ContactStatus.REGISTERED


@pytest.mark.parametrize(
    ("current", "target"),
    [
        (ContactStatus.REGISTERED, ContactStatus.ASSIGNED),
        (ContactStatus.ASSIGNED, ContactStatus.IN_PROGRESS),
        (ContactStatus.IN_PROGRESS, ContactStatus.FINALIZED),
        (ContactStatus.ASSIGNED, ContactStatus.ASSIGNED),
        (ContactStatus.POSTPONED, ContactStatus.IN_PROGRESS),
        (ContactStatus.REGISTERED, ContactStatus.MISSED),
        (ContactStatus.MISSED, ContactStatus.ASSIGNED),
    ],
)
def test_allowed_transitions_pass(current: ContactStatus, target: ContactStatus) -> None:
    check_transition(current, target)


@pytest.mark.parametrize(
    ("current", "target"),
    [
        (ContactStatus.FINALIZED, ContactStatus.IN_PROGRESS),
        (ContactStatus.MISSED, ContactStatus.IN_PROGRESS),
        (ContactStatus.IN_PROGRESS, ContactStatus.MISSED),
        (ContactStatus.IN_PROGRESS, ContactStatus.REGISTERED),
    ],
)
def test_a_transition_not_allowed_names_the_allowed_ones(
    current: ContactStatus, target: ContactStatus
) -> None:
    with pytest.raises(TransitionError) as err:
        check_transition(current, target)
    assert err.value.allowed == sorted(TRANSITIONS[current])
    assert str(current) in str(err.value)


def test_no_status_can_go_back_to_registered() -> None:
    assert all(ContactStatus.REGISTERED not in allowed for allowed in TRANSITIONS.values())

"""The store's schema (SQLAlchemy 2 typed ORM). Relationships never lazy-load: async code must say what
it loads (`selectinload`), and a forgotten one raises instead of blocking the event loop.

The schema itself is made by the migrations in `crm/migrations/` (`cti-daemon db upgrade`); a test checks
that these models and the migrated database agree on both backends.

Search keys (`name_search`, `digits`, `plate_key`, and `vin` itself) are derived from the values as
entered by `crm/normalize.py`: set by validators here for ORM writes, and computed by the importers for
their bulk writes.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship, validates

from cti_daemon.crm.normalize import NAME_KEY_MAX, name_key, phone_key, plate_key, vin_key
from cti_daemon.ids import uuid7


class Base(DeclarativeBase):
    pass


class Customer(Base):
    __tablename__ = "customers"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(300))
    name_search: Mapped[str] = mapped_column(String(NAME_KEY_MAX), index=True, default="")
    kind: Mapped[str] = mapped_column(String(16), default="person")  # person | company
    tax_id: Mapped[str | None] = mapped_column(String(32), index=True)
    crm_service: Mapped[str | None] = mapped_column(String(64))
    crm_sales: Mapped[str | None] = mapped_column(String(64))
    crm_parts: Mapped[str | None] = mapped_column(String(64))
    updated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    phones: Mapped[list[Phone]] = relationship(
        back_populates="customer", lazy="raise", cascade="all, delete-orphan"
    )
    vehicles: Mapped[list[Vehicle]] = relationship(
        back_populates="customer", lazy="raise", cascade="all, delete-orphan"
    )
    documents: Mapped[list[Document]] = relationship(
        back_populates="customer", lazy="raise", cascade="all, delete-orphan"
    )

    @validates("name")
    def _keep_name_key(self, _key: str, value: str) -> str:
        self.name_search = name_key(value)
        return value


class Phone(Base):
    __tablename__ = "phones"
    __table_args__ = (Index("ix_phones_e164", "e164"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"), index=True)
    raw: Mapped[str] = mapped_column(String(64))  # as entered
    e164: Mapped[str | None] = mapped_column(String(20))
    digits: Mapped[str] = mapped_column(String(64), default="")  # normalize.phone_key(raw, e164)
    kind: Mapped[str] = mapped_column(String(16), default="mobile")

    customer: Mapped[Customer] = relationship(back_populates="phones", lazy="raise")

    @validates("raw", "e164")
    def _keep_digits(self, key: str, value: str | None) -> str | None:
        raw = value if key == "raw" else self.raw
        e164 = value if key == "e164" else self.e164
        self.digits = phone_key(raw or "", e164)
        return value


class Vehicle(Base):
    __tablename__ = "vehicles"

    id: Mapped[str] = mapped_column(String(64), primary_key=True, default=uuid7)
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"), index=True)
    vin: Mapped[str | None] = mapped_column(String(17), index=True)  # normalize.vin_key: Latin capitals
    plate: Mapped[str | None] = mapped_column(String(16), index=True)  # as entered (often Cyrillic)
    plate_key: Mapped[str | None] = mapped_column(String(16), index=True)  # normalize.plate_key(plate)
    model: Mapped[str | None] = mapped_column(String(120))
    year: Mapped[int | None] = mapped_column(Integer)

    customer: Mapped[Customer] = relationship(back_populates="vehicles", lazy="raise")

    @validates("vin")
    def _normal_vin(self, _key: str, value: str | None) -> str | None:
        return vin_key(value) or None if value is not None else None

    @validates("plate")
    def _keep_plate_key(self, _key: str, value: str | None) -> str | None:
        self.plate_key = plate_key(value) or None if value is not None else None
        return value


class Document(Base):
    __tablename__ = "documents"
    __table_args__ = (Index("ix_documents_customer_status", "customer_id", "status"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(24))  # repair_order | sale | parts_order | complaint
    number: Mapped[str] = mapped_column(String(64), index=True)
    status: Mapped[str] = mapped_column(String(16), default="open")  # open | closed
    purpose: Mapped[str | None] = mapped_column(String(24))
    owner_employee_id: Mapped[str | None] = mapped_column(String(64), index=True)
    opened_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    vehicle_id: Mapped[str | None] = mapped_column(String(64))

    customer: Mapped[Customer] = relationship(back_populates="documents", lazy="raise")


class Employee(Base):
    __tablename__ = "employees"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    login: Mapped[str | None] = mapped_column(String(64), unique=True)
    extension: Mapped[str | None] = mapped_column(String(16), index=True)
    devices: Mapped[str] = mapped_column(Text, default="")  # AMI device names separated by spaces
    # Signing in to the pages (migration 0004): an Argon2id hash, never the password; None: no sign-in yet.
    password_hash: Mapped[str | None] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16), default="employee", server_default="employee")
    disabled: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    purpose_links: Mapped[list[EmployeePurpose]] = relationship(
        lazy="raise", cascade="all, delete-orphan", order_by="EmployeePurpose.purpose_code"
    )

    def device_list(self) -> tuple[str, ...]:
        listed = tuple(self.devices.split())
        if listed:
            return listed
        return (f"PJSIP/{self.extension}",) if self.extension else ()

    def purpose_codes(self) -> tuple[str, ...]:
        """Needs `selectinload(Employee.purpose_links)`."""
        return tuple(link.purpose_code for link in self.purpose_links)


class Purpose(Base):
    """The first level: the five built-in purposes of seed 003 (service, showroom, shop, feedback, other)."""

    __tablename__ = "purposes"

    code: Mapped[str] = mapped_column(String(24), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    position: Mapped[int] = mapped_column(Integer, default=0)
    builtin: Mapped[bool] = mapped_column(Boolean, default=False)

    subs: Mapped[list[SubPurpose]] = relationship(
        lazy="raise", cascade="all, delete-orphan", order_by="SubPurpose.position"
    )


class SubPurpose(Base):
    """The configurable second level ("Цели контактов"): e.g. service -> maintenance, warranty repair."""

    __tablename__ = "sub_purposes"
    __table_args__ = (UniqueConstraint("purpose_code", "code", name="uq_sub_purposes_purpose_code"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    purpose_code: Mapped[str] = mapped_column(ForeignKey("purposes.code", ondelete="CASCADE"))
    code: Mapped[str] = mapped_column(String(48))
    name: Mapped[str] = mapped_column(String(200))
    position: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class EmployeePurpose(Base):
    """Which employees take contacts of which purpose (the purpose group)."""

    __tablename__ = "employee_purposes"

    employee_id: Mapped[str] = mapped_column(ForeignKey("employees.id", ondelete="CASCADE"), primary_key=True)
    purpose_code: Mapped[str] = mapped_column(
        ForeignKey("purposes.code", ondelete="CASCADE"), primary_key=True, index=True
    )


BUILTIN_PURPOSES: tuple[tuple[str, str], ...] = (
    ("service", "Service"),
    ("showroom", "Showroom"),
    ("shop", "Parts shop"),
    ("feedback", "Feedback"),
    ("other", "Other"),
)
CONTACT_TYPES = ("call", "visit", "email", "chat", "other")
CONTACT_STATUSES = ("registered", "assigned", "in_progress", "finalized", "missed", "postponed")


class Contact(Base):
    """One inbound contact in the journal (a call, a visit...). Its rules live in routing/.

    `version` is an optimistic lock: SQLAlchemy adds `WHERE version = :seen` to every UPDATE and raises
    StaleDataError when another writer got there first.
    """

    __tablename__ = "contacts"
    __table_args__ = (
        Index("ix_contacts_customer_created", "customer_id", "created_at"),
        Index("ix_contacts_status_created", "status", "created_at"),
        Index("ix_contacts_purpose_created", "purpose", "created_at"),
        Index("ix_contacts_responsible_status", "responsible_employee_id", "status"),
        Index("ix_contacts_status_postponed", "status", "postponed_until"),
        Index("ix_contacts_outcome_number", "outcome", "caller_e164"),
        # The call report's one pass reads this index alone (crm/reports.py, migration 0006).
        Index(
            "ix_contacts_report",
            "type",
            "direction",
            "created_at",
            "outcome",
            "answered_by",
            "responsible_employee_id",
            "purpose",
            "answer_s",
            "talk_s",
            "callback_kind",
            "callback_s",
        ),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=uuid7)
    type: Mapped[str] = mapped_column(String(16), default="call")  # CONTACT_TYPES
    status: Mapped[str] = mapped_column(String(16), default="registered")  # CONTACT_STATUSES
    purpose: Mapped[str | None] = mapped_column(String(24))  # purposes.code
    sub_purpose: Mapped[str | None] = mapped_column(String(48))  # sub_purposes.code of that purpose
    purpose_auto: Mapped[bool] = mapped_column(Boolean, default=False)
    purpose_group: Mapped[str | None] = mapped_column(String(24))  # the group notified when no responsible
    customer_id: Mapped[str | None] = mapped_column(ForeignKey("customers.id", ondelete="SET NULL"))
    candidate_ids: Mapped[list[str]] = mapped_column(JSON, default=list)  # owners of a shared number
    # An unknown caller, as reception noted them (seed 003: name, contact phone, note).
    caller_name: Mapped[str | None] = mapped_column(String(200))
    caller_phone: Mapped[str | None] = mapped_column(String(64))  # as given
    caller_e164: Mapped[str | None] = mapped_column(String(20), index=True)
    caller_note: Mapped[str | None] = mapped_column(Text)
    tax_id: Mapped[str | None] = mapped_column(String(32))
    vehicle_id: Mapped[str | None] = mapped_column(ForeignKey("vehicles.id", ondelete="SET NULL"))
    document_number: Mapped[str | None] = mapped_column(String(64))
    responsible_employee_id: Mapped[str | None] = mapped_column(
        ForeignKey("employees.id", ondelete="SET NULL")
    )
    description: Mapped[str | None] = mapped_column(Text)
    call_id: Mapped[str | None] = mapped_column(String(64), index=True)
    node_id: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    created_by: Mapped[str | None] = mapped_column(String(64))
    finalized_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finalized_by: Mapped[str | None] = mapped_column(String(64))
    postponed_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    postponed_reason: Mapped[str | None] = mapped_column(Text)
    postponed_to: Mapped[str | None] = mapped_column(String(64))  # employee id
    missed_reason: Mapped[str | None] = mapped_column(Text)
    # A visit waiting in the queue since then; cleared when it is assigned or marked missed.
    queued_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), index=True)
    updated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    version: Mapped[int] = mapped_column(Integer, default=1)
    # The call's facts from the PBX (migration 0005), set when the call ends; never edited by people.
    direction: Mapped[str] = mapped_column(String(8), default="inbound", server_default="inbound")
    # Inbound: answered, missed, abandoned (gave up in a queue). Outbound: reached, no_answer, busy, failed.
    outcome: Mapped[str | None] = mapped_column(String(16))
    rang_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    answered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    answered_by: Mapped[str | None] = mapped_column(String(64))  # employee id, else the extension
    answer_s: Mapped[int | None] = mapped_column(Integer)  # rang -> answered
    talk_s: Mapped[int | None] = mapped_column(Integer)  # answered -> ended
    wait_s: Mapped[int | None] = mapped_column(Integer)  # rang (or queued) -> gave up, for a missed call
    answers_contact_id: Mapped[str | None] = mapped_column(
        String(36), index=True
    )  # an outbound's missed call
    # A missed call's callback entry closes: 'answered' (the caller got through later) or 'callback'.
    callback_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    callback_kind: Mapped[str | None] = mapped_column(String(16))
    callback_contact_id: Mapped[str | None] = mapped_column(String(36))
    callback_s: Mapped[int | None] = mapped_column(Integer)  # the missed call's end -> the callback

    __mapper_args__: dict[str, Any] = {"version_id_col": version}  # noqa: RUF012 - SQLAlchemy's form


class ContactNote(Base):
    """Append-only: notes are added, never edited (the journal has no update path for them)."""

    __tablename__ = "contact_notes"
    __table_args__ = (Index("ix_contact_notes_contact_at", "contact_id", "at"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=uuid7)
    contact_id: Mapped[str] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"))
    author: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    text: Mapped[str] = mapped_column(Text)


class ContactEvent(Base):
    """Who did what when to a contact: its history (registered, assigned, transferred, postponed...)."""

    __tablename__ = "contact_events"
    __table_args__ = (Index("ix_contact_events_contact_at", "contact_id", "at"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=uuid7)
    contact_id: Mapped[str] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    actor: Mapped[str | None] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(32))
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class WebSession(Base):
    """A signed-in browser. Only the SHA-256 of the cookie's id is kept: the table's content signs nobody
    in. `expires_at` is the absolute end; the idle end is `last_seen_at` plus the configured idle time."""

    __tablename__ = "sessions"

    id_digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    employee_id: Mapped[str] = mapped_column(ForeignKey("employees.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)


class FollowUp(Base):
    """A call to make (seed 000): after a repair order, a service due... (migration 0005)."""

    __tablename__ = "followups"
    __table_args__ = (Index("ix_followups_status_due", "status", "due_at"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=uuid7)
    customer_id: Mapped[str | None] = mapped_column(ForeignKey("customers.id", ondelete="SET NULL"))
    phone: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(Text)
    due_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    employee_id: Mapped[str | None] = mapped_column(
        ForeignKey("employees.id", ondelete="SET NULL"), index=True
    )
    purpose_group: Mapped[str | None] = mapped_column(String(24))
    status: Mapped[str] = mapped_column(String(16), default="open")  # open | done | declined | ...
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    notified_due_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))  # the due told
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    created_by: Mapped[str | None] = mapped_column(String(64))
    updated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class FollowUpAttempt(Base):
    __tablename__ = "followup_attempts"
    __table_args__ = (Index("ix_followup_attempts_followup_at", "followup_id", "at"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=uuid7)
    followup_id: Mapped[str] = mapped_column(ForeignKey("followups.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    actor: Mapped[str | None] = mapped_column(String(64))
    outcome: Mapped[str] = mapped_column(String(24))
    note: Mapped[str | None] = mapped_column(Text)
    next_due_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class CallReportDay(Base):
    """The call report's figures of one closed UTC day, per grouping and key (crm/report_cache.py,
    migration 0007): day and hour keys keep their final percentiles (such a key never spans days);
    employee and purpose keys keep whole-second histograms ({"seconds": calls}, JSON) to be merged."""

    __tablename__ = "call_report_days"

    day: Mapped[date] = mapped_column(Date, primary_key=True)  # first: the trigger deletes by day
    grouping: Mapped[str] = mapped_column(String(8), primary_key=True)
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    offered: Mapped[int] = mapped_column(Integer)
    answered: Mapped[int] = mapped_column(Integer)
    missed: Mapped[int] = mapped_column(Integer)
    abandoned: Mapped[int] = mapped_column(Integer)
    talk_sum: Mapped[int] = mapped_column(BigInteger)
    talk_n: Mapped[int] = mapped_column(Integer)
    callbacks: Mapped[int] = mapped_column(Integer)
    answer_p50_s: Mapped[int | None] = mapped_column(Integer)
    answer_p90_s: Mapped[int | None] = mapped_column(Integer)
    callback_p50_s: Mapped[int | None] = mapped_column(Integer)
    answer_hist: Mapped[str | None] = mapped_column(Text)
    callback_hist: Mapped[str | None] = mapped_column(Text)


class CallReportCachedDay(Base):
    """A (day, grouping) whose CallReportDay rows are complete (a day without calls has this row alone).
    A trigger on contacts deletes both on any write that touches a contact of that day."""

    __tablename__ = "call_report_cached_days"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    grouping: Mapped[str] = mapped_column(String(8), primary_key=True)
    filled_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

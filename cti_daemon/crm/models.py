"""The store's schema (SQLAlchemy 2 typed ORM). Relationships never lazy-load: async code must say what
it loads (`selectinload`), and a forgotten one raises instead of blocking the event loop."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from cti_daemon.ids import uuid7


class Base(DeclarativeBase):
    pass


class Customer(Base):
    __tablename__ = "customers"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(300))
    kind: Mapped[str] = mapped_column(String(16), default="person")  # person | company
    tax_id: Mapped[str | None] = mapped_column(String(32), index=True)
    crm_service: Mapped[str | None] = mapped_column(String(64))
    crm_sales: Mapped[str | None] = mapped_column(String(64))
    crm_parts: Mapped[str | None] = mapped_column(String(64))

    phones: Mapped[list[Phone]] = relationship(
        back_populates="customer", lazy="raise", cascade="all, delete-orphan"
    )
    vehicles: Mapped[list[Vehicle]] = relationship(
        back_populates="customer", lazy="raise", cascade="all, delete-orphan"
    )
    documents: Mapped[list[Document]] = relationship(
        back_populates="customer", lazy="raise", cascade="all, delete-orphan"
    )


class Phone(Base):
    __tablename__ = "phones"
    __table_args__ = (Index("ix_phones_e164", "e164"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"), index=True)
    raw: Mapped[str] = mapped_column(String(64))  # as entered
    e164: Mapped[str | None] = mapped_column(String(20))
    kind: Mapped[str] = mapped_column(String(16), default="mobile")

    customer: Mapped[Customer] = relationship(back_populates="phones", lazy="raise")


class Vehicle(Base):
    __tablename__ = "vehicles"

    id: Mapped[str] = mapped_column(String(64), primary_key=True, default=uuid7)
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"), index=True)
    vin: Mapped[str | None] = mapped_column(String(17), index=True)
    plate: Mapped[str | None] = mapped_column(String(16), index=True)
    model: Mapped[str | None] = mapped_column(String(120))
    year: Mapped[int | None] = mapped_column(Integer)

    customer: Mapped[Customer] = relationship(back_populates="vehicles", lazy="raise")


class Document(Base):
    __tablename__ = "documents"
    __table_args__ = (Index("ix_documents_customer_status", "customer_id", "status"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(24))  # repair_order | sale | parts_order | complaint
    number: Mapped[str] = mapped_column(String(64), index=True)
    status: Mapped[str] = mapped_column(String(16), default="open")  # open | closed
    purpose: Mapped[str | None] = mapped_column(String(24))
    owner_employee_id: Mapped[str | None] = mapped_column(String(64))
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
    purposes: Mapped[str] = mapped_column(Text, default="")  # purpose codes separated by spaces

    def device_list(self) -> tuple[str, ...]:
        listed = tuple(self.devices.split())
        if listed:
            return listed
        return (f"PJSIP/{self.extension}",) if self.extension else ()


class Contact(Base):
    """One inbound contact in the journal (a call, a visit...). Its rules live in routing/."""

    __tablename__ = "contacts"
    __table_args__ = (Index("ix_contacts_customer_created", "customer_id", "created_at"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=uuid7)
    type: Mapped[str] = mapped_column(String(16), default="call")
    status: Mapped[str] = mapped_column(String(16), default="registered")
    call_id: Mapped[str | None] = mapped_column(String(64), index=True)
    customer_id: Mapped[str | None] = mapped_column(String(64))
    caller_number: Mapped[str | None] = mapped_column(String(64))
    purpose: Mapped[str | None] = mapped_column(String(24))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

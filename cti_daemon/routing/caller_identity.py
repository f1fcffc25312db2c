"""What an identification puts on a call's contact: the customer (a number's one owner), or for a
shared number no customer but every candidate, in the pop's order; the purpose of the customer's most
recent open document, marked automatic. Shared by the contact a ring at reception registers and the
missed contact of a call that rang only employees, so both say the same of the same caller."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cti_daemon.crm.identify import Identification


@dataclass(frozen=True, slots=True)
class CallerIdentity:
    customer_id: str | None
    candidate_ids: tuple[str, ...]
    purpose: str | None
    customer_guess: str | None  # of several owners, the one the pop showed first: unconfirmed

    @property
    def contact_fields(self) -> dict[str, Any]:
        return {
            "customer_id": self.customer_id,
            "candidate_ids": self.candidate_ids,
            "purpose": self.purpose,
            "purpose_auto": self.purpose is not None,
        }

    @property
    def registered_data(self) -> dict[str, Any]:
        """Added to the contact's `registered` history event."""
        return {"customer_guess": self.customer_guess} if self.customer_guess else {}


NOBODY = CallerIdentity(customer_id=None, candidate_ids=(), purpose=None, customer_guess=None)


def caller_identity(ident: Identification) -> CallerIdentity:
    card = ident.customer
    single = card is not None and len(ident.candidates) == 1
    purpose = None
    if single and card is not None:
        purpose = next((d.purpose for d in card.open_documents if d.purpose), None)
    return CallerIdentity(
        customer_id=card.id if single and card is not None else None,
        candidate_ids=tuple(c.id for c in ident.candidates) if len(ident.candidates) > 1 else (),
        purpose=purpose,
        customer_guess=card.id if ident.customer_guess and card is not None else None,
    )

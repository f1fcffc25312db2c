"""The journal's refusals, each a kind the HTTP API maps to its status (400, 404, 409, 503)."""

from __future__ import annotations

from cti_daemon.routing.journal_rules import FieldProblem


class JournalError(Exception):
    """Base of refusals; the API turns each kind into its status."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class InvalidContact(JournalError):  # noqa: N818 - a refusal of the request: 400
    def __init__(self, problems: list[FieldProblem]) -> None:
        super().__init__("; ".join(p.message for p in problems), field=problems[0].field)
        self.problems = problems


class ContactMissing(JournalError):  # noqa: N818 - 404
    pass


class ContactConflict(JournalError):  # noqa: N818 - 409: a transition not allowed, or changed meanwhile
    def __init__(
        self,
        message: str,
        *,
        allowed: list[str] | None = None,
        field: str | None = None,
        code: str | None = None,
    ) -> None:
        super().__init__(message, field=field)
        self.allowed = allowed
        self.code = code


class JournalUnavailable(JournalError):  # noqa: N818 - 503: the store is away and this cannot wait
    pass

"""An AMI action's answer, as the link returns it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class AmiResponse:
    """An action's answer: the response headers and, for list actions, the items that followed (the
    list's closing *Complete event left out)."""

    headers: Mapping[str, str]
    items: list[Mapping[str, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.headers.get("Response") in ("Success", "Follows", "Goodbye")

    @property
    def message(self) -> str:
        return self.headers.get("Message", "")

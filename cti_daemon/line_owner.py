"""Who sits at which line: what the store knows about employees and the PBX side needs (neutral ground)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class LineOwner:
    employee_id: str
    extension: str
    devices: tuple[str, ...]  # AMI device names: "PJSIP/201", "SIP/150010002"

"""Topic names of the MQTT contract, under a configurable prefix."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Topics:
    prefix: str = "cti"

    def daemon_status(self, node_id: str) -> str:
        return f"{self.prefix}/daemon/{node_id}/status"

    def line(self, extension: str) -> str:
        return f"{self.prefix}/lines/{extension}"

    def popup(self, employee_id: str) -> str:
        return f"{self.prefix}/agents/{employee_id}/popup"

    def notify(self, employee_id: str) -> str:
        return f"{self.prefix}/agents/{employee_id}/notify"

    def agent_client(self, employee_id: str) -> str:
        return f"{self.prefix}/agents/{employee_id}/client"

    def presence(self, employee_id: str) -> str:
        return f"{self.prefix}/presence/{employee_id}"

    def presence_set(self, employee_id: str) -> str:
        return f"{self.prefix}/presence/{employee_id}/set"

    def call(self, call_id: str) -> str:
        return f"{self.prefix}/calls/{call_id}"

    def traffic(self, contact_id: str) -> str:
        return f"{self.prefix}/traffic/{contact_id}"

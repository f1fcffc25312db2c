"""The outbound port: every message the core sends to agents, in domain words.

The core (routing/) depends on this Protocol only. Each way out implements it: `mqtt.outbound` publishes
to the broker, `api.stream` pushes to signed-in pages, and `FanOut` hands each call to all of them, so who
is told what is decided once, in the core, whatever the transport.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, Protocol

from cti_daemon import logs
from cti_daemon.ami.call_events import LineStatus, Party
from cti_daemon.crm.identify import Identification
from cti_daemon.outbound.payloads import ClientState, NotifyKind

log = logs.get("cti.outbound")

# Asked just before a pop leaves: False when the call has moved on (an adapter may then drop it).
StillRelevant = Callable[[], bool]


class AgentPort(Protocol):
    def popup(
        self,
        *,
        employee_id: str,
        call_id: str,
        contact_id: str | None,
        at: datetime,
        extension: str,
        party: Party,
        ident: Identification,
        still_relevant: StillRelevant | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None: ...

    def update(
        self, *, employee_id: str, call_id: str, at: datetime, party: Party, ident: Identification
    ) -> None: ...

    def dismiss(self, *, employee_id: str, call_id: str, reason: str, at: datetime) -> None: ...

    def line(
        self,
        *,
        extension: str,
        status: LineStatus,
        employee_id: str | None,
        call_id: str | None,
        since: datetime,
    ) -> None: ...

    def call_event(
        self,
        *,
        event: str,
        call_id: str,
        party: Party | None,
        extension: str | None,
        at: datetime,
        **more: Any,
    ) -> None: ...

    def daemon_status(self, *, online: bool, ami_connected: bool, since: datetime) -> None: ...

    def notify(
        self,
        *,
        employee_id: str,
        kind: NotifyKind,
        contact_id: str | None,
        text: str,
        at: datetime,
        **more: Any,
    ) -> None: ...

    def presence(
        self, *, employee_id: str, status: str, note: str | None, client: ClientState, since: datetime
    ) -> None: ...

    def traffic(self, *, contact_id: str, contact: dict[str, Any]) -> None: ...


class FanOut:
    """One port in front of several: each message goes to every adapter, in order. An adapter that
    raises is logged and the next adapters are still told: one way out failing never silences the other,
    nor reaches the call's handling in routing/."""

    def __init__(self, ports: Sequence[AgentPort]) -> None:
        self._ports = tuple(ports)

    def _tell(self, what: str, message: Callable[[AgentPort], None]) -> None:
        for port in self._ports:
            try:
                message(port)
            except Exception:  # one adapter's fault must not stop the others
                log.exception("outbound.adapter_failed", adapter=type(port).__name__, message=what)

    def popup(
        self,
        *,
        employee_id: str,
        call_id: str,
        contact_id: str | None,
        at: datetime,
        extension: str,
        party: Party,
        ident: Identification,
        still_relevant: StillRelevant | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        self._tell(
            "popup",
            lambda port: port.popup(
                employee_id=employee_id,
                call_id=call_id,
                contact_id=contact_id,
                at=at,
                extension=extension,
                party=party,
                ident=ident,
                still_relevant=still_relevant,
                extra=extra,
            ),
        )

    def update(
        self, *, employee_id: str, call_id: str, at: datetime, party: Party, ident: Identification
    ) -> None:
        self._tell(
            "update",
            lambda port: port.update(
                employee_id=employee_id, call_id=call_id, at=at, party=party, ident=ident
            ),
        )

    def dismiss(self, *, employee_id: str, call_id: str, reason: str, at: datetime) -> None:
        self._tell(
            "dismiss",
            lambda port: port.dismiss(employee_id=employee_id, call_id=call_id, reason=reason, at=at),
        )

    def line(
        self,
        *,
        extension: str,
        status: LineStatus,
        employee_id: str | None,
        call_id: str | None,
        since: datetime,
    ) -> None:
        self._tell(
            "line",
            lambda port: port.line(
                extension=extension, status=status, employee_id=employee_id, call_id=call_id, since=since
            ),
        )

    def call_event(
        self,
        *,
        event: str,
        call_id: str,
        party: Party | None,
        extension: str | None,
        at: datetime,
        **more: Any,
    ) -> None:
        self._tell(
            "call_event",
            lambda port: port.call_event(
                event=event, call_id=call_id, party=party, extension=extension, at=at, **more
            ),
        )

    def daemon_status(self, *, online: bool, ami_connected: bool, since: datetime) -> None:
        self._tell(
            "daemon_status",
            lambda port: port.daemon_status(online=online, ami_connected=ami_connected, since=since),
        )

    def notify(
        self,
        *,
        employee_id: str,
        kind: NotifyKind,
        contact_id: str | None,
        text: str,
        at: datetime,
        **more: Any,
    ) -> None:
        self._tell(
            "notify",
            lambda port: port.notify(
                employee_id=employee_id, kind=kind, contact_id=contact_id, text=text, at=at, **more
            ),
        )

    def presence(
        self, *, employee_id: str, status: str, note: str | None, client: ClientState, since: datetime
    ) -> None:
        self._tell(
            "presence",
            lambda port: port.presence(
                employee_id=employee_id, status=status, note=note, client=client, since=since
            ),
        )

    def traffic(self, *, contact_id: str, contact: dict[str, Any]) -> None:
        self._tell("traffic", lambda port: port.traffic(contact_id=contact_id, contact=contact))

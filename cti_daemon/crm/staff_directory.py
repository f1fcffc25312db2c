"""Who sits at which extension (the employee directory the pops are routed by): read from the store,
kept on disk beside the journal's spool, and read from there when the daemon starts while the store is
away, so calls still pop (unidentified, with the reason) instead of `pop.no_employee` for every ring.

Refreshed every `refresh_s` while the store answers; while it does not (or the directory came from the
file), tried again every `retry_s`, so the store's own list takes over as soon as it is back.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Callable
from pathlib import Path

from sqlalchemy.exc import DBAPIError

from cti_daemon import logs
from cti_daemon.ami.directory import LineDirectory, LineOwner
from cti_daemon.crm.purposes import PurposeCatalog, load_catalog
from cti_daemon.crm.store import Store, StoreError

log = logs.get("cti.crm.staff_directory")


class StaffDirectory:
    def __init__(
        self,
        store: Store,
        directory: LineDirectory,
        path: Path,
        *,
        on_catalog: Callable[[PurposeCatalog], None],
        on_employees: Callable[[set[str]], None] | None = None,
        refresh_s: float = 60.0,
        retry_s: float = 1.0,
    ) -> None:
        self._store = store
        self._directory = directory
        self.path = path
        self._on_catalog = on_catalog
        self._on_employees = on_employees or (lambda _ids: None)  # who may have a presence
        self._refresh_s = refresh_s
        self._retry_s = retry_s
        self.source = "none"  # "store" | "file" | "none": where the directory in use came from

    async def load(self) -> bool:
        """From the store (True), else, when nothing came from the store yet, from the file."""
        try:
            owners = await self._store.line_owners()
        except (StoreError, OSError, DBAPIError) as exc:  # DBAPIError: e.g. a schema not created yet
            reason = str(exc).splitlines()[0]
            if self.source == "none":
                self._from_file(reason)
            elif self.source == "store":
                log.warning("directory.unavailable", reason=reason, effect="the last list stays in use")
            return False
        self._directory.replace(owners)
        self.source = "store"
        self._save(owners)
        catalog: PurposeCatalog | None = None
        try:
            catalog = await load_catalog(self._store)
            self._on_catalog(catalog)
        except (StoreError, OSError, DBAPIError) as exc:
            log.warning("purposes.unavailable", reason=str(exc).splitlines()[0])
        known = {o.employee_id for o in owners} | (catalog.employees if catalog is not None else set())
        self._on_employees(known)
        log.info(
            "directory.loaded",
            employees=len(owners),
            purposes=len(catalog.purposes) if catalog is not None else None,
        )
        return True

    async def run(self) -> None:
        while True:
            await asyncio.sleep(self._refresh_s if self.source == "store" else self._retry_s)
            await self.load()

    def _from_file(self, reason: str) -> None:
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
            owners = [LineOwner(o["employee_id"], o["extension"], tuple(o["devices"])) for o in raw["owners"]]
        except FileNotFoundError:
            log.warning("directory.unavailable", reason=reason, effect="pops wait for the employee list")
            return
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.warning("directory.file_unreadable", path=str(self.path), error=str(exc), store_reason=reason)
            return
        self._directory.replace(owners)
        self.source = "file"
        self._on_employees({o.employee_id for o in owners})
        log.warning(
            "directory.from_file",
            path=str(self.path),
            employees=len(owners),
            reason=reason,
            effect="pops go out unidentified until the store answers",
        )

    def _save(self, owners: list[LineOwner]) -> None:
        """Atomically (a temporary file renamed over it): a crash leaves the old list or the new one."""
        body = {
            "owners": [
                {"employee_id": o.employee_id, "extension": o.extension, "devices": list(o.devices)}
                for o in owners
            ]
        }
        tmp = self.path.with_suffix(self.path.suffix + ".tmp")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with tmp.open("w", encoding="utf-8") as f:
                json.dump(body, f, ensure_ascii=False)
                f.flush()
                os.fsync(f.fileno())
            tmp.replace(self.path)
        except OSError as exc:  # a full disk: the pops do not depend on it while the store answers
            tmp.unlink(missing_ok=True)
            log.warning("directory.not_saved", path=str(self.path), error=str(exc))

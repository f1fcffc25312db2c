"""`cti-daemon import customers|documents|employees|purposes FILE.csv`: runs an import and reports it.

Exit codes: 0 every row taken; 1 some rows refused (the others are in the store), the import stopped
part-way (bad encoding further down: earlier batches are in the store), or the database cannot be
reached; 2 bad usage: the file cannot be read, its header lacks a needed column, unknown encoding.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, TextIO

from cti_daemon.crm.importing.csv_source import ImportFileError
from cti_daemon.crm.importing.customers import CustomerImporter
from cti_daemon.crm.importing.documents import DocumentImporter
from cti_daemon.crm.importing.employees import EmployeeImporter
from cti_daemon.crm.importing.followups import FollowUpImporter
from cti_daemon.crm.importing.purposes import PurposeImporter
from cti_daemon.crm.importing.runner import ImportReport, run_import
from cti_daemon.crm.numbers import NumberRules
from cti_daemon.crm.store import Store, StoreError

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
KINDS = ("customers", "documents", "employees", "purposes", "followups")

HEADERS = {
    "customers": "customer_id,name,kind,tax_id,phones,vin,plate,model,year,crm_service,crm_sales,crm_parts",
    "documents": "document_id,customer_id,kind,number,status,purpose,owner_employee_id,opened_at,vin",
    "employees": "id,name,login,extension,devices,purposes",
    "purposes": "purpose,code,name,position,active",
    "followups": "phone,reason,due_at,customer_id,employee_id,purpose,id",
}


def importer_for(kind: str, rules: NumberRules) -> Any:
    if kind == "customers":
        return CustomerImporter(rules)
    if kind == "documents":
        return DocumentImporter()
    if kind == "purposes":
        return PurposeImporter()
    if kind == "followups":
        return FollowUpImporter()
    return EmployeeImporter()


async def run(
    store: Store,
    kind: str,
    path: Path,
    *,
    rules: NumberRules,
    encoding: str,
    batch_size: int,
    out: TextIO,
    err: TextIO,
) -> int:
    try:
        await store.upgrade_schema()
        report = await run_import(
            store, importer_for(kind, rules), path, encoding=encoding, batch_size=batch_size, progress=err
        )
    except ImportFileError as exc:
        err.write(f"import {kind}: {path}: {exc}\n")
        return EXIT_USAGE
    except StoreError as exc:
        err.write(f"import {kind}: cannot reach the database: {exc}\n")
        return EXIT_FAILED
    return _report(report, out, err)


def _report(report: ImportReport, out: TextIO, err: TextIO) -> int:
    for refused in report.refused:
        err.write(f"{report.path}: {refused}\n")
    if report.absent_columns:
        err.write(
            f"{report.path}: no column {', '.join(report.absent_columns)}: left as it is in the store\n"
        )
    if report.fatal:
        err.write(f"{report.path}: import stopped: {report.fatal}\n")
    out.write(f"{report.summary()} [{report.encoding}]\n")
    return EXIT_OK if not report.refused and not report.fatal else EXIT_FAILED

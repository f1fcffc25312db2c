"""`import customers|documents|employees`: files people really have (Excel's cp1251, BOMs, broken rows,
huge lines) on SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
import io
import random
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from cti_daemon.cli import main as cli_main
from cti_daemon.crm.identify import Identifier
from cti_daemon.crm.importing.csv_source import ImportFileError
from cti_daemon.crm.importing.customers import CustomerImporter
from cti_daemon.crm.importing.documents import DocumentImporter
from cti_daemon.crm.importing.employees import EmployeeImporter
from cti_daemon.crm.importing.runner import ImportReport, run_import
from cti_daemon.crm.models import Customer, Document, Phone, Vehicle
from cti_daemon.crm.numbers import NumberRules
from cti_daemon.crm.search import CustomerSearch
from cti_daemon.crm.store import Store
from tests.crm.csv_files import HEADER, customers_csv

RULES = NumberRules("RU")
HEAD = ",".join(HEADER)


async def import_customers(store: Store, path: Path, **kw: object) -> ImportReport:
    return await run_import(store, CustomerImporter(RULES), path, **kw)  # type: ignore[arg-type]


async def fingerprint(store: Store) -> str:
    digest = hashlib.sha256()
    async with store.session() as session:
        for table in ("customers", "phones", "vehicles", "documents", "search_terms"):
            if table == "search_terms" and store.dialect != "sqlite":
                continue
            order = "id"
            for row in await session.execute(text(f"SELECT * FROM {table} ORDER BY {order}")):
                digest.update(repr(tuple(row)).encode())
    return digest.hexdigest()


def write(path: Path, body: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(body.encode(encoding))
    return path


async def test_given_100000_rows_1_percent_bad_then_bad_ones_by_line_good_ones_found_reimport_no_change(
    store: Store, tmp_path: Path
) -> None:
    generated = customers_csv(tmp_path / "customers.csv", 100_000)
    first = await import_customers(store, generated.path)
    assert (first.rows, len(first.refused), first.fatal) == (100_000, 1000, None)
    assert {r.line for r in first.refused} == set(generated.bad)
    for refused in first.refused:
        assert refused.reason.startswith(generated.bad[refused.line]), refused
    assert first.counts["customers created"] == len(generated.customers)
    async with store.session() as session:
        assert await session.scalar(select(func.count()).select_from(Customer)) == len(generated.customers)
    identifier = Identifier(store, RULES)
    sample = random.Random(4).sample(sorted(generated.customers), 300)
    for cid in sample:
        for written in generated.customers[cid]:
            result = await identifier.identify(written)
            assert cid in [c.id for c in result.candidates], (cid, written, result.reason)
    search = CustomerSearch(store, RULES)
    assert sample[0] in [c.id for c in (await search.search(f"={generated.customers[sample[0]][0]}")).items]

    before = await fingerprint(store)
    second = await import_customers(store, generated.path)
    assert len(second.refused) == 1000 and second.taken == first.taken
    assert second.counts == {"customers unchanged": len(generated.customers)}
    assert await fingerprint(store) == before


async def test_given_a_reimport_with_changes_then_customers_update_in_place_and_dropped_numbers_go(
    store: Store, tmp_path: Path
) -> None:
    v1 = write(
        tmp_path / "v1.csv",
        f"{HEAD}\n"
        "c-1,Мария Петрова,person,,89161234567;+7 495 111-22-33,"
        "XW8ZZZ61ZKG012345,А123ВС77,Polo,2019,active,,\n"
        "c-1,Мария Петрова,person,,89161234567,Z94CB41AAGR323232,,Rio,2020,active,,\n",
    )
    await import_customers(store, v1)
    v2 = write(
        tmp_path / "v2.csv",
        f"{HEAD}\n"
        "c-1,Мария Сидорова,person,,+7 916 123-45-67,XW8ZZZ61ZKG012345,В777ВВ77,Polo,2019,lapsed,,\n",
    )
    report = await import_customers(store, v2)
    assert report.counts["customers updated"] == 1 and report.counts["phones removed"] == 1
    async with store.session() as session:
        assert (await session.get(Customer, "c-1")).name == "Мария Сидорова"  # type: ignore[union-attr]
        phones = (await session.execute(select(Phone.raw, Phone.e164))).all()
        vehicles = (await session.execute(select(Vehicle.vin, Vehicle.plate).order_by(Vehicle.vin))).all()
    assert phones == [("+7 916 123-45-67", "+79161234567")]  # the same number, now written this way
    assert vehicles == [("XW8ZZZ61ZKG012345", "В777ВВ77"), ("Z94CB41AAGR323232", None)]  # kept, not removed
    assert [c.id for c in (await CustomerSearch(store, RULES).search("сидоров")).items] == ["c-1"]
    assert (await CustomerSearch(store, RULES).search("петрова")).items == []
    assert not (await Identifier(store, RULES).identify("84951112233")).identified


async def test_given_our_import_then_the_identification_cache_forgets_what_it_changed(
    store: Store, tmp_path: Path
) -> None:
    from cti_daemon.crm.identity_cache import IdentityCache  # noqa: PLC0415

    identifier = Identifier(store, RULES, cache=IdentityCache(ttl_s=600))
    assert not (await identifier.identify("89161234567")).identified
    path = write(tmp_path / "c.csv", f"{HEAD}\nc-1,Ivan Petrov,,,89161234567,,,,,,,\n")
    await run_import(
        store, CustomerImporter(RULES), path, on_written=lambda keys: identifier.invalidate(*keys)
    )
    after = await identifier.identify("89161234567")
    assert after.customer is not None and after.customer.id == "c-1"


@pytest.mark.parametrize("encoding", ["cp1251", "utf-8-sig", "utf-8"])
async def test_given_excel_encodings_then_cyrillic_arrives_intact(
    store: Store, tmp_path: Path, encoding: str
) -> None:
    path = write(tmp_path / "c.csv", f"{HEAD}\nc-1,Пётр Семёнов,,,89161234567,,Е001КХ97,,,,,\n", encoding)
    report = await import_customers(store, path)
    assert report.encoding == encoding and report.taken == 1
    async with store.session() as session:
        customer = await session.get(Customer, "c-1")
    assert customer is not None and customer.name == "Пётр Семёнов"
    assert [c.id for c in (await CustomerSearch(store, RULES).search("e001kx")).items] == ["c-1"]


async def test_given_a_broken_encoding_deep_in_the_file_then_it_stops_naming_the_line_earlier_batches_whole(
    store: Store, tmp_path: Path
) -> None:
    rows = "".join(f"c-{i},Ivan Petrov {i},,,8916{i:07d},,,,,,,\n" for i in range(1, 30_001))
    body = (
        f"{HEAD}\n{rows}".encode()
        + "c-x,Пётр,,,89160000000,,,,,,,\n".encode("cp1251")
        + b"c-y,Ok,,,89160000001,,,,,,,\n"
    )
    path = tmp_path / "mixed.csv"
    path.write_bytes(body)
    report = await import_customers(store, path, batch_size=1000)
    assert report.encoding == "utf-8"
    assert report.fatal is not None and report.fatal.startswith(
        "line 30002: byte 0xf2 at column 7 is not utf-8"
    )
    async with store.session() as session:
        assert await session.scalar(select(func.count()).select_from(Customer)) == 30_000
        assert await session.scalar(select(func.count()).select_from(Phone)) == 30_000


async def test_given_a_header_without_a_needed_column_then_nothing_is_imported_and_line_1_is_named(
    store: Store, tmp_path: Path
) -> None:
    path = write(tmp_path / "c.csv", "customer_id,name,phone\nc-1,Ivan,89161234567\n")
    with pytest.raises(
        ImportFileError, match=r"line 1: the header has no column phones \(it has: customer_id, name, phone\)"
    ):
        await import_customers(store, path)


async def test_given_a_10_mb_line_then_that_line_is_refused_by_number_and_the_rest_taken(
    store: Store, tmp_path: Path
) -> None:
    path = tmp_path / "huge.csv"
    with path.open("w", encoding="utf-8") as fh:
        fh.write(f"{HEAD}\nc-1,Ivan,,,89161234567,,,,,,,\n")
        fh.write("c-2," + "x" * 10_000_000 + ",,,89161234568,,,,,,,\n")
        fh.write("c-3,Olga,,,89161234569,,,,,,,\n")
    report = await import_customers(store, path)
    assert [str(r) for r in report.refused] == ["line 3: line longer than 1048576 bytes (10000026 bytes)"]
    assert report.taken == 2
    async with store.session() as session:
        assert sorted((await session.scalars(select(Customer.id))).all()) == ["c-1", "c-3"]


async def test_given_quoted_fields_with_commas_and_newlines_then_lines_are_still_counted_right(
    store: Store, tmp_path: Path
) -> None:
    path = write(
        tmp_path / "q.csv",
        f'{HEAD}\nc-1,"Petrov, Ivan",,,89161234567,,,,,,,\n'
        'c-2,"ООО ""Ромашка""\nфилиал",company,,89161234568,,,,,,,\n'
        "c-3,,,,89161234569,,,,,,,\n",
    )
    report = await import_customers(store, path)
    assert [str(r) for r in report.refused] == ["line 5: name is empty"]
    async with store.session() as session:
        assert (await session.get(Customer, "c-2")).name == 'ООО "Ромашка"\nфилиал'  # type: ignore[union-attr]


async def test_given_a_nul_in_a_field_then_that_row_is_refused_and_its_batch_is_still_written(
    store: Store, tmp_path: Path
) -> None:
    path = write(
        tmp_path / "nul.csv",
        f"{HEAD}\nc-1,Iv\x00an,,,89161234567,,,,,,,\nc-2,Olga,,,89161234568,,,,,,,\n",
    )
    report = await import_customers(store, path)  # on PostgreSQL the NUL refused the whole batch
    assert ([str(r) for r in report.refused], report.fatal) == (
        ["line 2: name contains a NUL character"],
        None,
    )
    async with store.session() as session:
        assert await session.get(Customer, "c-2") is not None and await session.get(Customer, "c-1") is None


async def test_given_values_at_the_columns_limits_then_every_backend_takes_or_refuses_them_by_line(
    store: Store, tmp_path: Path
) -> None:
    # "ß" case-folds to "ss": the search key of a 300-letter name was 600 long, and PostgreSQL refused the
    # batch; a login over its column's 64 did the same in the employees file.
    path = write(tmp_path / "long.csv", f"{HEAD}\nc-1,{'ß' * 300},,,89161234567,,,,,,,\n")
    report = await import_customers(store, path)
    assert (report.taken, report.refused, report.fatal) == (1, [], None)
    found = await CustomerSearch(store, RULES).search("ssss")
    assert [c.id for c in found.items] == ["c-1"]
    staff = write(tmp_path / "e.csv", f"id,name,login\ne-1,Anna,{'a' * 65}\ne-2,Olga,olga\n")
    report = await run_import(store, EmployeeImporter(), staff)
    assert ([str(r) for r in report.refused], report.taken) == (
        ["line 2: login longer than 64 characters"],
        1,
    )


async def test_given_a_terminal_then_a_progress_bar_and_otherwise_silence(
    store: Store, tmp_path: Path
) -> None:
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    path = write(
        tmp_path / "c.csv", f"{HEAD}\n" + "".join(f"c-{i},N {i},,,8916{i:07d},,,,,,,\n" for i in range(50))
    )
    tty, pipe = Tty(), io.StringIO()
    await import_customers(store, path, progress=tty)
    await import_customers(store, path, progress=pipe)
    assert "\r" in tty.getvalue() and "100%" in tty.getvalue() and "50 rows" in tty.getvalue()
    assert pipe.getvalue() == ""


async def test_given_documents_then_they_attach_to_customers_and_vehicles_and_bad_ones_say_why(
    store: Store, tmp_path: Path
) -> None:
    await import_customers(
        store, write(tmp_path / "c.csv", f"{HEAD}\nc-1,Ivan,,,89161234567,XW8ZZZ61ZKG012345,,,,,,\n")
    )
    docs = write(
        tmp_path / "d.csv",
        "document_id,customer_id,kind,number,status,purpose,owner_employee_id,opened_at,vin\n"
        "d-1,c-1,repair_order,RO-1,open,,e-201,20.11.2026 09:30,xw8zzz61zkg012345\n"
        "d-2,c-1,sale,SA-1,closed,showroom,,2026-11-01T10:00:00+03:00,\n"
        "d-3,c-9,sale,SA-2,open,,,,\n"
        "d-4,c-1,invoice,IN-1,open,,,,\n"
        "d-5,c-1,sale,SA-3,open,marketing,,,\n"
        "d-6,c-1,sale,SA-4,open,,,yesterday,\n"
        "d-7,c-1,sale,SA-5,open,,,,WVWZZZ1KZ9W111111\n"
        "d-8,c-1,sale,SA-6,open,,,0001-01-01T00:00:00+14:00,\n",  # parses, but has no UTC form
    )
    report = await run_import(store, DocumentImporter(), docs)
    assert [str(r) for r in report.refused] == [
        "line 4: customer_id 'c-9' is not in the store (import customers first)",
        "line 5: kind 'invoice' is not one of repair_order, sale, parts_order, complaint",
        "line 6: purpose 'marketing' is not configured (known: feedback, other, service, shop, showroom)",
        "line 7: opened_at 'yesterday' is not a date (2026-11-20 or 20.11.2026)",
        "line 8: vin 'WVWZZZ1KZ9W111111' is not a vehicle of customer 'c-1'",
        "line 9: opened_at '0001-01-01T00:00:00+14:00' is not a date (2026-11-20 or 20.11.2026)",
    ]
    card = (await Identifier(store, RULES).identify("89161234567")).customer
    assert card is not None and [(d.number, d.purpose) for d in card.open_documents] == [("RO-1", "service")]
    async with store.session() as session:
        d1 = await session.get(Document, "d-1")
        assert d1 is not None and d1.vehicle_id is not None and d1.owner_employee_id == "e-201"
    before = await fingerprint(store)
    again = await run_import(store, DocumentImporter(), docs)
    assert again.counts == {"documents unchanged": 2} and await fingerprint(store) == before


async def test_given_employees_then_lines_and_purpose_groups_follow_the_file(
    store: Store, tmp_path: Path
) -> None:
    path = write(
        tmp_path / "e.csv",
        "id,name,login,extension,devices,purposes\n"
        "e-201,Pavel Orlov,porlov,201,PJSIP/201 SIP/150010002,service shop\n"
        "e-202,Irina Volkova,ivolkova,202,,showroom\n"
        "e-203,Bad Purposes,,203,,service karaoke\n"
        "e-204,Same Login,porlov,204,,\n"
        "e-205,Bad Device,,205,pjsip 205,\n",
    )
    report = await run_import(store, EmployeeImporter(), path)
    assert [str(r) for r in report.refused] == [
        "line 4: purpose 'karaoke' is not configured (known: feedback, other, service, shop, showroom)",
        "line 5: login 'porlov' belongs to employee 'e-201'",
        "line 6: devices: 'pjsip' is not an AMI device like PJSIP/201",
    ]
    owners = {o.employee_id: o for o in await store.line_owners()}
    assert owners["e-201"].devices == ("PJSIP/201", "SIP/150010002")
    assert owners["e-202"].devices == ("PJSIP/202",)
    assert await store.employee_purposes() == {"e-201": ("service", "shop"), "e-202": ("showroom",)}
    write(path, "id,name,purposes\ne-201,Pavel Orlov,feedback\n")
    await run_import(store, EmployeeImporter(), path)
    assert (await store.employee_purposes())["e-201"] == ("feedback",)
    assert {o.employee_id: o for o in await store.line_owners()}[
        "e-201"
    ].extension == "201"  # column absent: kept


@pytest.mark.usefixtures("cli_logging")
def test_given_the_command_line_then_exit_codes_say_all_taken_some_refused_or_unusable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CTI_DATABASE__URL", f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}")
    good = write(tmp_path / "good.csv", f"{HEAD}\nc-1,Ivan,,,89161234567,,,,,,,\n")
    some_bad = write(
        tmp_path / "bad.csv", f"{HEAD}\nc-2,Olga,,,89161234568,,,,,,,\nc-3,,,,89161234569,,,,,,,\n"
    )
    no_column = write(tmp_path / "nocol.csv", "customer_id,name\nc-4,Anna\n")
    assert cli_main(["import", "customers", str(good)]) == 0
    assert "1 rows, 1 taken, 0 refused" in capsys.readouterr().out
    assert cli_main(["import", "customers", str(some_bad)]) == 1
    captured = capsys.readouterr()
    assert (
        "2 rows, 1 taken, 1 refused" in captured.out and f"{some_bad}: line 3: name is empty" in captured.err
    )
    assert cli_main(["import", "customers", str(no_column)]) == 2
    assert "line 1: the header has no column phones" in capsys.readouterr().err
    assert cli_main(["import", "customers", str(tmp_path / "missing.csv")]) == 2
    assert "missing.csv" in capsys.readouterr().err
    with pytest.raises(SystemExit) as bad_usage:
        cli_main(["import", "customers", str(good), "--encoding", "koi8"])
    assert bad_usage.value.code == 2

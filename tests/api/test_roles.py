"""Roles on the server: a signed-in employee reaches their own things only (their and their purposes'
contacts, their line, their phone), reception the whole desk, admin also the accounts; tokens may be
reception or admin. Every refusal is 403 `forbidden` naming the role needed."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from cti_daemon.api.auth import TokenFileError, parse_tokens
from cti_daemon.crm.seed import SeedSummary
from cti_daemon.demo.broker import LocalBroker
from tests.conftest import Sim, daemon_config
from tests.support.api import Api, new_token, running_api
from tests.support.browser import Page, give_passwords, page

RECEPTION_TOKEN = new_token()


@pytest.fixture
async def api(
    sim: Sim, broker: LocalBroker, seeded_sqlite: tuple[str, SeedSummary], tmp_path: Path
) -> AsyncIterator[Api]:
    db_url, _ = seeded_sqlite
    await give_passwords(db_url)
    admin = new_token()
    tokens = tmp_path / "tokens"
    tokens.write_text(f"crm:{admin}\ndesk-script:{RECEPTION_TOKEN}:reception\n", encoding="utf-8")
    sim.pbx.speed = 0.1
    config = daemon_config(
        ami_port=sim.port,
        mqtt_url=broker.url,
        db_url=db_url,
        http={"tokens_file": str(tokens)},
        routing={"transfer_confirm_s": 2.0},
    )
    async with running_api(config, admin, actor="crm") as running:
        yield running
    sim.pbx.cancel_flows()


@pytest.fixture
async def pavel(api: Api) -> AsyncIterator[Page]:
    async with page(api.base) as tab:
        assert (await tab.sign_in("porlov"))[0] == 200
        yield tab


async def _register(tab: Page, **body: Any) -> str:
    status, answer, _ = await tab.call("POST", "/api/v1/contacts", {"type": "visit", **body})
    assert status == 201, answer
    return str(answer["id"])


def _forbidden(answer: tuple[int, Any, Any], role: str) -> bool:
    status, body, _ = answer
    return (
        status == 403
        and body["error"]["code"] == "forbidden"
        and f"the {role} role" in body["error"]["message"]
    )


@pytest.fixture
async def contacts(api: Api) -> dict[str, str]:
    """Registered by reception's Anna at her desk: Pavel's, the service group's, Irina's."""
    async with page(api.base) as anna:
        assert (await anna.sign_in("asmirnova"))[0] == 200
        return {
            "pavels": await _register(
                anna, customer_id="c-00002", purpose="service", responsible_employee_id="e-201"
            ),
            "service": await _register(anna, customer_id="c-00003", purpose="service"),
            "irinas": await _register(
                anna, customer_id="c-00004", purpose="showroom", responsible_employee_id="e-202"
            ),
        }


async def test_given_pavel_signed_in_then_he_lists_and_reads_his_and_services_contacts_not_irinas(
    pavel: Page, contacts: dict[str, str]
) -> None:
    status, body, _ = await pavel.call("GET", "/api/v1/contacts?limit=200")
    assert status == 200
    seen = {c["id"] for c in body["contacts"]}
    assert {contacts["pavels"], contacts["service"]} <= seen
    assert contacts["irinas"] not in seen
    assert (await pavel.call("GET", f"/api/v1/contacts/{contacts['pavels']}"))[0] == 200
    assert _forbidden(await pavel.call("GET", f"/api/v1/contacts/{contacts['irinas']}"), "reception")


async def test_given_pavel_then_he_acts_on_his_contacts_only_and_leaves_the_desks_actions_to_reception(
    pavel: Page, contacts: dict[str, str]
) -> None:
    mine, theirs = contacts["pavels"], contacts["irinas"]
    note = {"text": "Перезвонил, клиент доволен"}
    assert (await pavel.call("POST", f"/api/v1/contacts/{mine}/notes", note))[0] == 201
    assert _forbidden(await pavel.call("POST", f"/api/v1/contacts/{theirs}/notes", note), "reception")
    later = {"until": "2030-01-01T09:00:00Z", "reason": "waiting for parts"}
    assert _forbidden(await pavel.call("POST", f"/api/v1/contacts/{theirs}/postpone", later), "reception")
    assert _forbidden(await pavel.call("POST", f"/api/v1/contacts/{theirs}/finalize"), "reception")
    missed = {"reason": "left"}
    assert _forbidden(await pavel.call("POST", f"/api/v1/contacts/{mine}/missed", missed), "reception")
    assert _forbidden(await pavel.call("PATCH", f"/api/v1/contacts/{mine}", {"purpose": "shop"}), "reception")
    given_away = {"responsible_employee_id": "e-203"}
    assert _forbidden(await pavel.call("PATCH", f"/api/v1/contacts/{mine}", given_away), "reception")
    walk_in = {"type": "visit", "customer_id": "c-00005"}
    assert _forbidden(await pavel.call("POST", "/api/v1/contacts", walk_in), "reception")
    # Taking the service group's contact is his to do; then finalizing his own.
    taken = {"status": "in_progress", "responsible_employee_id": "e-201"}
    status, body, _ = await pavel.call("PATCH", f"/api/v1/contacts/{contacts['service']}", taken)
    assert (status, body["responsible_employee_id"], body["created_by"]) == (200, "e-201", "asmirnova")
    status, body, _ = await pavel.call("POST", f"/api/v1/contacts/{mine}/finalize")
    assert (status, body["status"], body["finalized_by"]) == (200, "finalized", "porlov")


async def test_given_pavel_then_the_desks_views_are_refused_and_his_own_line_and_the_directory_are_not(
    pavel: Page,
) -> None:
    for path in (
        "/api/v1/lines",
        "/api/v1/calls",
        "/api/v1/calls/c-1",
        "/api/v1/customers?q=Petrov",
        "/api/v1/customers/c-00002",
        "/api/v1/lookup?number=%2B79161234567",
        "/api/v1/lines/202",
        "/api/v1/lines/999",
    ):
        assert _forbidden(await pavel.call("GET", path), "reception"), path
    assert _forbidden(await pavel.call("POST", "/api/v1/calls/c-1/transfer", {"to": "202"}), "reception")
    # A transfer is an employee's only if it is of their own line: another's is unknown to them.
    assert (await pavel.call("GET", "/api/v1/transfers/t-1"))[0] == 404
    assert (await pavel.call("POST", "/api/v1/transfers/t-1/complete"))[0] == 404
    assert _forbidden(await pavel.call("GET", "/api/v1/accounts"), "admin")
    status, body, _ = await pavel.call("GET", "/api/v1/lines/201")
    assert (status, body["employee_id"]) == (200, "e-201")
    assert (await pavel.call("GET", "/api/v1/purposes"))[0] == 200
    assert (await pavel.call("GET", "/api/v1/employees"))[0] == 200


async def test_given_pavel_when_he_clicks_to_dial_then_only_from_his_own_phone(pavel: Page) -> None:
    dial = {"to_number": "+79161234567"}
    assert _forbidden(
        await pavel.call("POST", "/api/v1/calls/originate", {"from_extension": "202", **dial}), "reception"
    )
    status, body, _ = await pavel.call("POST", "/api/v1/calls/originate", {"from_extension": "201", **dial})
    assert status in (201, 202), body
    assert body["employee_id"] == "e-201"


async def test_given_reception_signed_in_then_the_desk_is_hers_but_not_the_accounts(api: Api) -> None:
    async with page(api.base) as anna:
        assert (await anna.sign_in("asmirnova"))[0] == 200
        for path in ("/api/v1/lines", "/api/v1/calls", "/api/v1/customers?q=Petrov", "/api/v1/contacts"):
            assert (await anna.call("GET", path))[0] == 200, path
        assert (await anna.call("GET", "/api/v1/transfers/t-1"))[0] == 404
        assert _forbidden(await anna.call("GET", "/api/v1/accounts"), "admin")


async def test_given_a_token_line_naming_reception_then_it_reaches_the_desk_but_not_the_accounts(
    api: Api,
) -> None:
    assert (await api.get("/api/v1/lines", token=RECEPTION_TOKEN))[0] == 200
    status, body = await api.get("/api/v1/accounts", token=RECEPTION_TOKEN)
    assert (status, body["error"]["code"]) == (403, "forbidden")
    assert "the admin role (you are reception)" in body["error"]["message"]
    status, body = await api.get("/api/v1/accounts")  # a line without a role: admin, as before roles
    assert status == 200
    porlov = next(a for a in body["accounts"] if a["login"] == "porlov")
    assert porlov == {
        "login": "porlov",
        "employee_id": "e-201",
        "name": "Pavel Orlov",
        "role": "employee",
        "extension": "201",
        "disabled": False,
        "password_set": True,
    }


def test_given_token_lines_with_roles_then_reception_and_admin_are_taken_and_others_named_by_line() -> None:
    token = "t" * 24
    assert parse_tokens(f"crm:{token}\ndesk:{'u' * 24}:reception\nops:{'v' * 24}:admin\n") == {
        "crm": token,
        "desk": "u" * 24,
        "ops": "v" * 24,
    }
    with pytest.raises(TokenFileError) as bad:
        parse_tokens(f"a:{'w' * 24}:employee\nb:{'x' * 24}:superuser\n")
    assert len(bad.value.problems) == 2
    assert "line 1: the role must be reception or admin, not 'employee'" in bad.value.problems[0]
    assert "line 2" in bad.value.problems[1] and "x" * 24 not in " ".join(bad.value.problems)

"""An administrator manages the accounts over HTTP, on SQLite and PostgreSQL: a new password for someone
who forgot theirs, a role, disabling someone who left. Each change ends that person's sessions; an admin
cannot demote or disable their own account; reception cannot do any of it; no password reaches a log."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from cti_daemon.crm import accounts
from cti_daemon.crm.models import Employee
from cti_daemon.crm.store import open_store
from cti_daemon.demo.broker import LocalBroker
from tests.conftest import Sim, daemon_config
from tests.support.api import Api, new_token, running_api, write_tokens
from tests.support.browser import PASSWORDS, give_passwords, page
from tests.support.desk import seed_store

NEW = "irina-New-Pa55word"
RECEPTION_TOKEN = "r" * 32


@pytest.fixture
async def api(sim: Sim, broker: LocalBroker, store_url: str, tmp_path: Path) -> AsyncIterator[Api]:
    await seed_store(store_url)
    await give_passwords(store_url, {**PASSWORDS, "slebedev": "sergey-Pa55-203"})
    store = open_store(store_url)
    try:
        assert await accounts.set_role(store, "slebedev", "admin")  # the desk's administrator
        async with store.session() as session, session.begin():  # two new hires, no account yet
            session.add_all(
                [
                    Employee(id="e-204", name="Olga Kuznetsova", extension="204"),
                    Employee(id="e-205", name="Oleg Kuznetsov", extension="205"),
                ]
            )
    finally:
        await store.dispose()
    token = new_token()
    tokens = write_tokens(tmp_path, ("ops", token), ("desk", f"{RECEPTION_TOKEN}:reception"))
    config = daemon_config(
        ami_port=sim.port, mqtt_url=broker.url, db_url=store_url, http={"tokens_file": str(tokens)}
    )
    async with running_api(config, token) as running:
        yield running


def _account(body: dict[str, object], login: str) -> dict[str, object]:
    listed = body["accounts"]
    assert isinstance(listed, list)
    return next(a for a in listed if a["login"] == login)


async def test_given_irina_forgot_her_password_when_the_admin_sets_one_then_only_the_new_one_signs_in(
    api: Api, capsys: pytest.CaptureFixture[str]
) -> None:
    async with page(api.base) as before:
        assert (await before.sign_in("ivolkova"))[0] == 200
        status, body = await api.send("POST", "/api/v1/accounts/ivolkova/password", {"password": NEW})
        assert status == 200 and body["login"] == "ivolkova" and body["password_set"] is True, body
        assert (await before.call("GET", "/api/v1/session"))[0] == 401  # her sessions ended
    async with page(api.base) as later:
        assert (await later.sign_in("ivolkova", PASSWORDS["ivolkova"]))[0] == 401
        assert (await later.sign_in("ivolkova", NEW))[0] == 200
    said = capsys.readouterr()
    assert "account.password_set" in said.err and NEW not in said.out + said.err


async def test_given_a_weak_password_or_no_such_login_then_400_or_404_and_nothing_changes(api: Api) -> None:
    for weak in ("q7x!", "ten\ncharacters-and-more", 7, None):
        status, body = await api.send("POST", "/api/v1/accounts/ivolkova/password", {"password": weak})
        assert status == 400 and body["error"]["field"] == "password", (weak, body)
        assert not isinstance(weak, str) or weak not in body["error"]["message"]  # never echoed
    status, body = await api.send("POST", "/api/v1/accounts/nobody/password", {"password": NEW})
    assert status == 404 and body["error"]["field"] == "login"
    async with page(api.base) as irina:
        assert (await irina.sign_in("ivolkova"))[0] == 200  # the old password still holds


async def test_given_pavel_leaves_when_disabled_then_his_session_ends_until_he_is_enabled_again(
    api: Api,
) -> None:
    async with page(api.base) as pavel:
        assert (await pavel.sign_in("porlov"))[0] == 200
        status, body = await api.send("PATCH", "/api/v1/accounts/porlov", {"disabled": True})
        assert status == 200 and body["disabled"] is True, body
        assert (await pavel.call("GET", "/api/v1/session"))[0] == 401
        assert (await pavel.sign_in("porlov"))[0] == 401
        status, body = await api.send("PATCH", "/api/v1/accounts/porlov", {"disabled": False})
        assert status == 200 and body["disabled"] is False
        assert (await pavel.sign_in("porlov"))[0] == 200
    _, listed = await api.get("/api/v1/accounts")
    assert _account(listed, "porlov")["disabled"] is False


async def test_given_pavel_made_reception_then_he_signs_in_again_and_reaches_the_desk(api: Api) -> None:
    async with page(api.base) as pavel:
        assert (await pavel.sign_in("porlov"))[0] == 200
        assert (await pavel.call("GET", "/api/v1/calls"))[0] == 403
        status, body = await api.send("PATCH", "/api/v1/accounts/porlov", {"role": "reception"})
        assert status == 200 and body["role"] == "reception", body
        assert (await pavel.call("GET", "/api/v1/calls"))[0] == 401  # the employee's session ended
        assert (await pavel.sign_in("porlov"))[0] == 200
        assert (await pavel.call("GET", "/api/v1/calls"))[0] == 200


async def test_given_the_admin_signed_in_then_she_manages_others_but_cannot_lock_herself_out(
    api: Api,
) -> None:
    async with page(api.base) as admin:
        assert (await admin.sign_in("slebedev", "sergey-Pa55-203"))[0] == 200
        for change, field in (({"role": "reception"}, "role"), ({"disabled": True}, "disabled")):
            status, body, _ = await admin.call("PATCH", "/api/v1/accounts/slebedev", change)
            assert status == 409 and body["error"]["code"] == "own_account", body
            assert body["error"]["field"] == field
        status, body, _ = await admin.call("PATCH", "/api/v1/accounts/ivolkova", {"role": "reception"})
        assert status == 200 and body["role"] == "reception"
        # Another site's page cannot use her cookie for it.
        status, body, _ = await admin.call(
            "PATCH", "/api/v1/accounts/ivolkova", {"disabled": True}, origin="https://evil.example"
        )
        assert status == 403 and body["error"]["code"] == "bad_origin"
    _, listed = await api.get("/api/v1/accounts")
    assert (
        _account(listed, "slebedev")["role"] == "admin" and _account(listed, "ivolkova")["disabled"] is False
    )


async def test_given_reception_then_accounts_cannot_be_changed_and_bad_bodies_name_the_field(
    api: Api,
) -> None:
    for method, path, body in (
        ("PATCH", "/api/v1/accounts/porlov", {"role": "admin"}),
        ("POST", "/api/v1/accounts/porlov/password", {"password": NEW}),
    ):
        status, answer = await api.send(method, path, body, token=RECEPTION_TOKEN)
        assert status == 403 and "the admin role (you are reception)" in answer["error"]["message"]
    async with page(api.base) as anna:
        assert (await anna.sign_in("asmirnova"))[0] == 200
        status, _, _ = await anna.call("PATCH", "/api/v1/accounts/asmirnova", {"role": "admin"})
        assert status == 403
    for body, field in (
        ({"role": "owner"}, "role"),
        ({"disabled": "yes"}, "disabled"),
        ({"login": "x"}, "login"),
        ({}, "role"),
    ):
        status, answer = await api.send("PATCH", "/api/v1/accounts/porlov", body)
        assert status == 400 and answer["error"]["field"] == field, (body, answer)
    status, answer = await api.send("PATCH", "/api/v1/accounts/nobody", {"disabled": True})
    assert status == 404
    _, listed = await api.get("/api/v1/accounts")
    assert (
        _account(listed, "porlov")["role"] == "employee" and _account(listed, "porlov")["disabled"] is False
    )


async def test_given_a_new_hire_without_an_account_when_given_a_login_then_a_password_lets_her_in(
    api: Api,
) -> None:
    status, body = await api.send(
        "POST", "/api/v1/accounts", {"employee_id": "e-204", "login": "okuznetsova", "role": "reception"}
    )
    assert status == 201, body
    assert (body["login"], body["role"], body["password_set"]) == ("okuznetsova", "reception", False)
    async with page(api.base) as olga:
        assert (await olga.sign_in("okuznetsova", "anything-at-all"))[0] == 401  # no password yet
        status, _ = await api.send("POST", "/api/v1/accounts/okuznetsova/password", {"password": NEW})
        assert status == 200
        assert (await olga.sign_in("okuznetsova", NEW))[0] == 200
        assert (await olga.call("GET", "/api/v1/calls"))[0] == 200  # reception's desk
    for wanted, code, field in (
        ({"employee_id": "e-204", "login": "olga2"}, "has_login", "employee_id"),
        ({"employee_id": "e-205", "login": "porlov"}, "login_taken", "login"),
    ):
        status, answer = await api.send("POST", "/api/v1/accounts", wanted)
        assert status == 409 and answer["error"]["code"] == code and answer["error"]["field"] == field, answer
    for wanted, field in (
        ({"employee_id": "e-205", "login": "oleg kuznetsov"}, "login"),
        ({"employee_id": "e-205", "login": "okuznetsov", "role": "boss"}, "role"),
        ({"employee_id": "e-205", "login": "okuznetsov", "password": "x"}, "password"),
        ({"login": "okuznetsov"}, "employee_id"),
    ):
        status, answer = await api.send("POST", "/api/v1/accounts", wanted)
        assert status == 400 and answer["error"]["field"] == field, (wanted, answer)
    status, answer = await api.send("POST", "/api/v1/accounts", {"employee_id": "e-999", "login": "ghost"})
    assert status == 404 and answer["error"]["field"] == "employee_id"
    status, _ = await api.send(
        "POST", "/api/v1/accounts", {"employee_id": "e-205", "login": "okuznetsov"}, token=RECEPTION_TOKEN
    )
    assert status == 403
    _, listed = await api.get("/api/v1/accounts")
    assert "okuznetsov" not in {a["login"] for a in listed["accounts"]}

"""The HTTP API of a running daemon (simulator over TCP, mosquitto, a seeded SQLite store): every endpoint
with its success, 401, 400 and 404 cases."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp
import pytest

from cti_daemon.ami.simulator.scenarios import CallHandle, InboundCall, place_inbound
from cti_daemon.app import Daemon
from cti_daemon.crm.seed import SeedSummary
from cti_daemon.demo.broker import LocalBroker
from tests.conftest import Sim, daemon_config
from tests.support.api import Api, new_token, write_tokens


async def _ring(sim: Sim, number: str, **kw: object) -> tuple[asyncio.Task[CallHandle], CallHandle]:
    started: asyncio.Future[CallHandle] = asyncio.get_running_loop().create_future()
    call = InboundCall(number, **kw)  # type: ignore[arg-type]
    task = asyncio.create_task(place_inbound(sim.pbx, call, started=started))
    return task, await asyncio.wait_for(started, 5)


async def _until(check: object, timeout: float = 5.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not await check():  # type: ignore[operator]
        assert loop.time() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)


# --- lookup -------------------------------------------------------------------------------------------
async def test_given_a_known_number_in_any_format_when_looked_up_then_the_customer_card_comes_back(
    api: Api, seeded_sqlite: tuple[str, SeedSummary]
) -> None:
    raw = seeded_sqlite[1].known_numbers[0]  # 8916...
    status, body = await api.get("/api/v1/lookup", params={"number": f"+7 ({raw[1:4]}) {raw[4:]}"})
    assert status == 200, body
    assert body["identified"] is True and body["customer"]["id"] == "c-00001"
    assert body["number"]["e164"] == "+7" + raw[1:]
    assert body["customer"]["vehicles"] and body["candidates"] == []


async def test_given_a_shared_number_when_looked_up_then_both_candidates_are_listed(
    api: Api, seeded_sqlite: tuple[str, SeedSummary]
) -> None:
    status, body = await api.get("/api/v1/lookup", params={"number": seeded_sqlite[1].shared_numbers[0]})
    assert status == 200 and len(body["candidates"]) == 2
    assert body["customer"]["id"] == body["candidates"][0]["id"]


async def test_given_unknown_withheld_or_internal_numbers_then_200_unidentified_with_the_reason(
    api: Api, seeded_sqlite: tuple[str, SeedSummary]
) -> None:
    for number, reason in [
        (seeded_sqlite[1].unknown_numbers[0], "number not in the customer store"),
        ("anonymous", "number withheld"),
        ("201", "internal extension"),
    ]:
        status, body = await api.get("/api/v1/lookup", params={"number": number})
        assert status == 200, body
        assert body["identified"] is False and body["customer"] is None and body["reason"] == reason


async def test_given_a_missing_empty_repeated_or_bogus_number_then_400_names_the_field(api: Api) -> None:
    cases = [
        {},
        {"number": "   "},
        {"number": "x" * 65},
        {"number": "call me maybe"},
        {"number": "+7916\x01"},
    ]
    for params in cases:
        status, body = await api.get("/api/v1/lookup", params=params)
        assert status == 400, (params, body)
        assert body["error"]["field"] == "number" and body["error"]["code"] == "invalid"
        assert body["error"]["message"]
    status, body = await api.get("/api/v1/lookup?number=1&number=2")
    assert status == 400 and "once" in body["error"]["message"]


async def test_given_the_store_is_down_when_looking_up_then_503_in_the_error_shape(
    sim: Sim, broker: LocalBroker, tmp_path: Path
) -> None:
    token = new_token()
    tokens = write_tokens(tmp_path, ("crm", token))
    # Nothing listens on port 9: the database is down from the start.
    config = daemon_config(
        ami_port=sim.port,
        mqtt_url=broker.url,
        db_url="postgresql+asyncpg://cti:pw@127.0.0.1:9/cti",
        http={"tokens_file": str(tokens)},
    )
    async with Daemon(config) as daemon, aiohttp.ClientSession() as http:
        await daemon.mqtt.wait_connected(5)
        headers = {"Authorization": f"Bearer {token}"}
        base = f"http://127.0.0.1:{daemon.api.port}"
        async with http.get(f"{base}/api/v1/lookup", params={"number": "+79161234567"}, headers=headers) as r:
            assert r.status == 503
            assert (await r.json())["error"]["code"] == "store_unavailable"
        async with http.get(f"{base}/api/v1/employees", headers=headers) as r:
            assert r.status == 503 and (await r.json())["error"]["code"] == "store_unavailable"
        async with http.get(f"{base}/healthz") as r:
            report = await r.json()
            assert r.status == 503 and report["database"]["up"] is False and report["mqtt"]["up"] is True


# --- lines and calls ----------------------------------------------------------------------------------
async def test_given_a_call_ringing_at_100_then_lines_and_calls_show_it_and_then_the_answer(
    api: Api, sim: Sim, seeded_sqlite: tuple[str, SeedSummary]
) -> None:
    raw = seeded_sqlite[1].known_numbers[2]
    task, handle = await _ring(sim, raw, name="Olga", ring_s=1.0, talk_s=5.0)

    async def ringing() -> bool:
        _, body = await api.get("/api/v1/lines/100")
        return bool(body["status"] == "ringing")

    await _until(ringing)
    _, line = await api.get("/api/v1/lines/100")
    assert line == {
        "extension": "100",
        "status": "ringing",
        "employee_id": "e-100",
        "call_id": handle.call_id,
        "queues": {"reception": {"paused": False, "reason": None}},  # 100 is a member of queue reception
    }
    status, calls = await api.get("/api/v1/calls")
    assert status == 200
    (call,) = [c for c in calls["calls"] if c["call_id"] == handle.call_id]
    assert call["state"] == "ringing" and call["ringing"] == ["100"] and call["talking"] == []
    assert call["caller"] == {"number": raw, "name": "Olga"}
    # The ring at reception registered the call's contact: the call names it, as its pop does.
    assert call["contact_id"] == api.daemon.ring_contacts.for_call(handle.call_id).id  # type: ignore[union-attr]

    async def talking() -> bool:
        _, body = await api.get(f"/api/v1/calls/{handle.call_id}")
        return bool(body["state"] == "talking")

    await _until(talking)
    _, lines = await api.get("/api/v1/lines")
    by_ext = {line["extension"]: line for line in lines["lines"]}
    assert by_ext["100"]["status"] == "talking"
    assert {"201", "202", "203"} <= set(by_ext), "every employee's line is listed, seen or not"
    task.cancel()


async def test_given_unknown_call_or_line_then_404_names_the_field(api: Api) -> None:
    status, body = await api.get("/api/v1/calls/1795507019.999")
    assert status == 404 and body["error"] == {
        "code": "not_found",
        "message": "no call 1795507019.999 in progress",
        "field": "call_id",
    }
    status, body = await api.get("/api/v1/lines/7777")
    assert status == 404 and body["error"]["field"] == "extension"
    status, body = await api.get("/api/v1/calls/" + "9" * 65)
    assert status == 400 and body["error"]["field"] == "call_id"


# --- employees ----------------------------------------------------------------------------------------
async def test_given_the_seeded_staff_then_employees_lists_extensions_purposes_and_line_status(
    api: Api,
) -> None:
    status, body = await api.get("/api/v1/employees")
    assert status == 200
    staff = {e["id"]: e for e in body["employees"]}
    assert set(staff) >= {"e-100", "e-201", "e-202", "e-203"}
    reception = staff["e-100"]
    assert reception["extension"] == "100" and reception["line_status"] in {"ready", "unknown"}
    assert isinstance(reception["purposes"], list)
    # No agent client has said anything yet: presence unknown (null, not missing); nothing in the journal.
    assert reception["presence"] is None and reception["logged_in"] is None
    assert reception["open_contacts"] == 0 and reception["handled_contacts"] == 0
    status, one = await api.get("/api/v1/employees/e-201")
    assert status == 200 and one == staff["e-201"]
    status, body = await api.get("/api/v1/employees/e-999")
    assert status == 404 and body["error"]["field"] == "employee_id"


# --- tokens -------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "path", ["/api/v1/lookup?number=1", "/api/v1/lines", "/api/v1/calls", "/api/v1/employees", "/api/v1/x"]
)
async def test_given_no_or_a_wrong_token_then_401_and_the_token_is_never_logged(
    api: Api, path: str, capsys: pytest.CaptureFixture[str]
) -> None:
    wrong = new_token()
    for token, headers in [(None, {}), (wrong, {}), (None, {"Authorization": "Basic " + api.token})]:
        status, body = await api.get(path, token=token, headers=headers)
        assert status == 401 and body["error"]["code"] == "unauthorized", (token, headers, body)
    status, _ = await api.get(path.replace("?number=1", "?number=89161234567"), token=api.token[:-1])
    assert status == 401
    logged = capsys.readouterr().err
    assert wrong not in logged and api.token not in logged and api.token[:-1] not in logged
    assert "api.token_refused" in logged


async def test_given_health_metrics_and_the_document_then_they_need_no_token(api: Api) -> None:
    for path in ("/healthz", "/metrics", "/api/v1/openapi.json"):
        async with api.http.get(api.url(path)) as resp:
            assert resp.status == 200, path


# --- metrics ------------------------------------------------------------------------------------------
def _sample(text: str, name: str) -> float:
    for line in text.splitlines():
        if line.split(" ")[0] == name:
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"{name} not in /metrics")


async def test_given_a_ring_then_metrics_count_events_pops_and_identification_time(
    api: Api, sim: Sim, seeded_sqlite: tuple[str, SeedSummary]
) -> None:
    async with api.http.get(api.url("/metrics")) as resp:
        before = await resp.text()
    assert _sample(before, "cti_pops_published_total") == 0
    task, _ = await _ring(sim, seeded_sqlite[1].known_numbers[3], ring_s=0.3, talk_s=0.05)
    await task
    await api.daemon.pops.idle()
    await api.daemon.mqtt.drain()
    async with api.http.get(api.url("/metrics")) as resp:
        assert resp.status == 200 and resp.content_type == "text/plain"
        text = await resp.text()
    assert _sample(text, "cti_pops_published_total") == 1
    assert _sample(text, "cti_identification_seconds_count") == 1
    assert _sample(text, "cti_ami_events_total") > _sample(before, "cti_ami_events_total")
    assert _sample(text, "cti_mqtt_published_total") >= 3  # status, line, pop, call events
    assert _sample(text, "cti_mqtt_outbox_depth") == 0
    assert _sample(text, "cti_mqtt_outbox_limit") == 10_000
    assert 'cti_connection_up{component="ami"} 1.0' in text
    assert 'cti_connection_up{component="mqtt"} 1.0' in text
    assert 'cti_connection_up{component="database"} 1.0' in text
    assert 'cti_mqtt_dropped_total{reason="stale"} 0.0' in text


async def test_given_garbage_from_the_pbx_then_metrics_count_it_and_the_daemon_stays_up(
    api: Api, sim: Sim
) -> None:
    async with api.http.get(api.url("/metrics")) as resp:
        assert _sample(await resp.text(), "cti_ami_malformed_frames_total") == 0
    for session in list(sim.server.sessions):
        session.write(b"this is not AMI\r\nneither: is this line's frame\r\n\r\n")
    for _ in range(100):
        async with api.http.get(api.url("/metrics")) as resp:
            text = await resp.text()
        if _sample(text, "cti_ami_malformed_frames_total") >= 1:
            break
        await asyncio.sleep(0.05)
    assert _sample(text, "cti_ami_malformed_frames_total") == 1
    assert 'cti_connection_up{component="ami"} 1.0' in text
    assert _sample(text, "cti_journal_spooled") == 0


async def test_given_a_limit_in_superscript_digits_then_400_names_it(api: Api) -> None:
    status, body = await api.get("/api/v1/customers?q=ivan&limit=%C2%B2")  # "²": isdigit() but not int()
    assert status == 400 and body["error"]["field"] == "limit", body


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (b'{"type": "visit", "caller": {"name": "A\\ud800B", "phone": "+7 916 555-00-11"}}', "caller.name"),
        (b'{"type": "visit", "x": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", None),
    ],
    ids=["unpaired surrogate", "nested too deeply"],
)
async def test_given_json_the_daemon_cannot_use_then_400_not_500(
    api: Api, body: bytes, field: str | None
) -> None:
    status, answer = await api.call(
        "POST", "/api/v1/contacts", data=body, headers={"Content-Type": "application/json"}
    )
    assert status == 400 and answer["error"]["code"] == "bad_json", answer
    assert answer["error"]["field"] == field

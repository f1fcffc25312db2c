"""GET /api/v1/presence and PUT /api/v1/presence/{employee_id}: presence from a signed-in page, by the
same rules as cti/presence/{id}/set, published retained for everyone."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from cti_daemon.crm.seed import SeedSummary
from cti_daemon.demo.broker import LocalBroker
from tests.conftest import Sim, daemon_config
from tests.support.api import Api, new_token, running_api, write_tokens
from tests.support.browser import give_passwords, page
from tests.support.mqtt import Subscriber


@pytest.fixture
async def api(
    sim: Sim, broker: LocalBroker, seeded_sqlite: tuple[str, SeedSummary], tmp_path: Path
) -> AsyncIterator[Api]:
    db_url, _ = seeded_sqlite
    await give_passwords(db_url)
    token = new_token()
    tokens = write_tokens(tmp_path, ("reception-console", token))
    config = daemon_config(
        ami_port=sim.port,
        mqtt_url=broker.url,
        db_url=db_url,
        http={"tokens_file": str(tokens)},
        routing={"custom_statuses": ["at the showroom"]},
    )
    async with running_api(config, token) as running:
        yield running


async def test_given_pavel_signed_in_when_he_sets_busy_with_a_note_then_the_retained_topic_says_it(
    api: Api, broker: LocalBroker
) -> None:
    async with page(api.base) as tab:
        assert (await tab.sign_in("porlov"))[0] == 200
        status, body, _ = await tab.call(
            "PUT", "/api/v1/presence/e-201", {"status": "busy", "note": "у клиента"}
        )
        assert status == 200 and body["status"] == "busy" and body["note"] == "у клиента"
        status, listing, _ = await tab.call("GET", "/api/v1/presence")
        assert listing["statuses"] == ["available", "busy", "away", "at the showroom"]
        assert [p["employee_id"] for p in listing["presence"]] == ["e-201"]
    async with Subscriber(broker.url, "cti/presence/#") as later:
        seen = await later.wait_for("cti/presence/e-201", status="busy")
        assert seen.retain and seen.payload["note"] == "у клиента"


async def test_given_pavel_signed_in_then_he_may_not_set_irinas_presence_but_reception_may(api: Api) -> None:
    async with page(api.base) as tab:
        await tab.sign_in("porlov")
        status, body, _ = await tab.call("PUT", "/api/v1/presence/e-202", {"status": "away"})
        assert (
            status == 403 and body["error"]["code"] == "forbidden" and "reception" in body["error"]["message"]
        )
    status, body = await api.send("PUT", "/api/v1/presence/e-202", {"status": "away", "note": None})
    assert status == 200 and body["status"] == "away"


async def test_given_a_status_nobody_configured_or_a_long_note_then_400_names_the_field(api: Api) -> None:
    status, body = await api.send("PUT", "/api/v1/presence/e-201", {"status": "sleeping"})
    assert status == 400 and body["error"]["field"] == "status"
    status, body = await api.send("PUT", "/api/v1/presence/e-201", {"status": "busy", "note": "x" * 201})
    assert status == 400 and body["error"]["field"] == "note"
    status, body = await api.send("PUT", "/api/v1/presence/e-201", {"status": "busy", "mood": "ok"})
    assert status == 400 and body["error"]["field"] == "mood"

"""An employee puts a call of their own line through from their page (it rings or talks at their phone),
and follows that transfer; a call or a transfer of another line is not theirs (403, 404). The daemon on
the simulator over TCP, mosquitto, a seeded SQLite store with passwords."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from cti_daemon.ami.simulator.scenarios import InboundCall, place_inbound
from cti_daemon.crm.seed import SeedSummary
from cti_daemon.demo.broker import LocalBroker
from tests.conftest import Sim, daemon_config
from tests.support.api import Api, new_token, running_api, write_tokens
from tests.support.browser import give_passwords, page
from tests.support.calls import ringing_devices, until


@pytest.fixture
async def api(
    sim: Sim, broker: LocalBroker, seeded_sqlite: tuple[str, SeedSummary], tmp_path: Path
) -> AsyncIterator[Api]:
    sim.pbx.speed = 0.1
    db_url, _ = seeded_sqlite
    await give_passwords(db_url)
    token = new_token()
    config = daemon_config(
        ami_port=sim.port,
        mqtt_url=broker.url,
        db_url=db_url,
        http={"tokens_file": str(write_tokens(tmp_path, ("reception-console", token)))},
        routing={"transfer_confirm_s": 2.0},
    )
    async with running_api(config, token) as running:
        yield running
    sim.pbx.cancel_flows()


async def _ringing_at(api: Api, sim: Sim, extension: str) -> str:
    sim.pbx.endpoints[extension].answer_after_s = None
    sim.pbx.spawn(
        place_inbound(sim.pbx, InboundCall("+79161234567", extension=extension, ring_s=50, talk_s=None))
    )
    await until(lambda: any(v.ringing == (extension,) for v in api.daemon.tracker.call_views()))
    (view,) = api.daemon.tracker.call_views()
    return view.call_id


async def test_given_a_call_ringing_at_pavels_phone_when_he_puts_it_through_to_irina_then_202_rings(
    api: Api, sim: Sim
) -> None:
    call_id = await _ringing_at(api, sim, "201")
    sim.pbx.endpoints["202"].answer_after_s = None
    async with page(api.base) as pavel, page(api.base) as irina:
        assert (await pavel.sign_in("porlov"))[0] == 200
        assert (await irina.sign_in("ivolkova"))[0] == 200
        status, transfer, _ = await pavel.call(
            "POST", f"/api/v1/calls/{call_id}/transfer", {"to_employee": "e-202"}
        )
        assert status == 201 and transfer["status"] == "ringback", transfer
        assert transfer["from_extension"] == "201" and ringing_devices(sim.pbx, call_id) == ["PJSIP/202"]
        assert (await pavel.call("GET", f"/api/v1/transfers/{transfer['id']}"))[0] == 200
        # Irina is the target, not the one who put it through: the transfer is not hers to follow.
        assert (await irina.call("GET", f"/api/v1/transfers/{transfer['id']}"))[0] == 404
        _, recorded = await api.get(f"/api/v1/transfers/{transfer['id']}")
        assert recorded["status"] == "ringback"  # reception sees every transfer


async def test_given_a_call_ringing_at_reception_then_pavel_may_not_put_it_through(
    api: Api, sim: Sim
) -> None:
    call_id = await _ringing_at(api, sim, "100")
    async with page(api.base) as pavel:
        assert (await pavel.sign_in("porlov"))[0] == 200
        status, body, _ = await pavel.call(
            "POST", f"/api/v1/calls/{call_id}/transfer", {"to_employee": "e-202"}
        )
        assert status == 403 and body["error"]["code"] == "forbidden", body
        assert f"call {call_id} is not yours" in body["error"]["message"]
    assert sim.server.received["redirect"] == 0 and ringing_devices(sim.pbx, call_id) == ["PJSIP/100"]

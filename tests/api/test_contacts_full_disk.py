"""The store away and the spool's disk full (a real tmpfs filled to the last byte): a contact over HTTP is
refused with 503, never acknowledged with 202 and lost; once the disk has room again it is accepted."""

from __future__ import annotations

from pathlib import Path

from cti_daemon.crm.spool import Spool
from cti_daemon.demo.broker import LocalBroker
from tests.conftest import Sim, daemon_config
from tests.support.api import new_token, running_api, write_tokens
from tests.support.tmpfs import fill, small_tmpfs

AWAY = "postgresql+asyncpg://postgres@127.0.0.1:1/nowhere"  # refused at once: the store is away


async def test_given_the_store_away_and_the_spool_disk_full_when_a_contact_is_posted_then_503_not_202(
    sim: Sim, broker: LocalBroker, tmp_path: Path
) -> None:
    token = new_token()
    tokens = write_tokens(tmp_path, ("reception-console", token))
    with small_tmpfs(tmp_path / "disk") as disk:
        spool = disk / "journal-spool.jsonl"
        config = daemon_config(
            ami_port=sim.port,
            mqtt_url=broker.url,
            db_url=AWAY,
            http={"tokens_file": str(tokens)},
            routing={"spool_file": str(spool)},
        )
        # Bigger than a page: tmpfs allocates whole pages, and a small record would fit in the last one.
        body = {
            "type": "visit",
            "caller": {"name": "Oleg", "phone": "+7 916 555-00-11"},
            "description": "x" * 3900,
        }
        async with running_api(config, token, ready=False) as api:
            status, first = await api.send("POST", "/api/v1/contacts", body)
            assert status == 202 and first["spooled"] is True
            filler = fill(disk)
            for _ in range(3):
                status, refused = await api.send("POST", "/api/v1/contacts", body)
                assert status == 503 and refused["error"]["code"] == "store_unavailable", refused
                assert "spool" in refused["error"]["message"]
            filler.unlink()
            status, last = await api.send("POST", "/api/v1/contacts", body)
            assert status == 202
        assert [r["key"] for r in Spool(spool).pending()] == [first["id"], last["id"]]

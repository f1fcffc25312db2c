"""A daemon on the simulator, a broker and a seeded store of either backend (the `store_url` fixture's),
with an admin token (the default) and a reception token: the journal's rules are tested on both."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cti_daemon.crm.seed import SeedSummary, seed_demo
from cti_daemon.crm.store import open_store
from tests.support.api import Api, new_token, running_api, write_tokens


@dataclass
class Desk:
    api: Api  # its default token is an admin's
    reception: str  # a reception token
    seed: SeedSummary


async def seed_store(url: str) -> SeedSummary:
    store = open_store(url)
    try:
        await store.create_schema()
        return await seed_demo(store)
    finally:
        await store.dispose()


@contextlib.asynccontextmanager
async def desk(
    *, ami_port: int, mqtt_url: str, store_url: str, tmp_path: Path, **sections: dict[str, Any]
) -> AsyncIterator[Desk]:
    from tests.conftest import daemon_config  # noqa: PLC0415 - conftest imports this module's users

    seed = await seed_store(store_url)
    admin, reception = new_token(), new_token()
    tokens = write_tokens(tmp_path, ("crm", admin), ("desk", f"{reception}:reception"))
    http = {"tokens_file": str(tokens), **sections.pop("http", {})}
    config = daemon_config(ami_port=ami_port, mqtt_url=mqtt_url, db_url=store_url, http=http, **sections)
    async with running_api(config, admin, actor="crm") as api:
        yield Desk(api, reception, seed)

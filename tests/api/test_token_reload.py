"""Tokens re-read on SIGHUP (`systemctl reload`): added ones work, removed ones get 401, a bad file changes
nothing and names no token. Once in process, once as `cti-daemon run` with a real signal."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from pathlib import Path

import aiohttp
import pytest

from cti_daemon.crm.seed import SeedSummary
from cti_daemon.demo.broker import LocalBroker, free_port
from tests.conftest import AMI_SECRET, Sim, daemon_config
from tests.support.api import new_token, running_api, write_tokens


async def test_given_tokens_rewritten_when_reloaded_then_the_new_token_works_and_the_removed_gets_401(
    sim: Sim, broker: LocalBroker, seeded_sqlite: tuple[str, SeedSummary], tmp_path: Path
) -> None:
    kept, dropped, added = new_token(), new_token(), new_token()
    tokens = write_tokens(tmp_path, ("reception-console", kept), ("old-crm", dropped))
    config = daemon_config(
        ami_port=sim.port, mqtt_url=broker.url, db_url=seeded_sqlite[0], http={"tokens_file": str(tokens)}
    )
    async with running_api(config, kept) as api:
        assert (await api.get("/api/v1/lines", token=dropped))[0] == 200
        assert (await api.get("/api/v1/lines", token=added))[0] == 401

        write_tokens(tmp_path, ("reception-console", kept), ("new-crm", added))
        assert api.daemon.reload_tokens() is True

        assert (await api.get("/api/v1/lines", token=added))[0] == 200
        assert (await api.get("/api/v1/lines", token=dropped))[0] == 401
        assert (await api.get("/api/v1/lines"))[0] == 200


async def test_given_a_bad_or_missing_tokens_file_when_reloaded_then_the_tokens_in_use_stay(
    sim: Sim, broker: LocalBroker, seeded_sqlite: tuple[str, SeedSummary], tmp_path: Path
) -> None:
    token = new_token()
    tokens = write_tokens(tmp_path, ("reception-console", token))
    config = daemon_config(
        ami_port=sim.port, mqtt_url=broker.url, db_url=seeded_sqlite[0], http={"tokens_file": str(tokens)}
    )
    async with running_api(config, token) as api:
        tokens.write_text(f"reception-console:{token}\nshort:abc\n", encoding="utf-8")
        assert api.daemon.reload_tokens() is False
        tokens.unlink()
        assert api.daemon.reload_tokens() is False
        tokens.write_bytes(b"crm:\xff\xfe-not-utf-8-at-all-0123\n")
        assert api.daemon.reload_tokens() is False
        assert (await api.get("/api/v1/lines"))[0] == 200


async def test_given_cti_daemon_run_when_it_gets_sighup_then_it_serves_the_new_tokens_and_logs_no_token(
    sim: Sim, broker: LocalBroker, seeded_sqlite: tuple[str, SeedSummary], tmp_path: Path
) -> None:
    first, second = new_token(), new_token()
    tokens = write_tokens(tmp_path, ("crm", first))
    port = free_port()
    cfg = tmp_path / "cti.toml"
    cfg.write_text(
        f'[ami]\nport = {sim.port}\nsecret = "{AMI_SECRET}"\n'
        f'[mqtt]\nurl = "{broker.url}"\nnode_id = "hup"\n'
        f'[database]\nurl = "{seeded_sqlite[0]}"\n'
        f'[http]\nlisten = "127.0.0.1:{port}"\ntokens_file = "{tokens}"\n'
        f'[routing]\nspool_file = "{tmp_path / "spool.jsonl"}"\n'
        '[logging]\nformat = "json"\n',
        encoding="utf-8",
    )
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "cti_daemon",
        "run",
        "--config",
        str(cfg),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert proc.stderr is not None
    lines: list[str] = []
    reader = asyncio.create_task(_collect(proc.stderr, lines))
    base = f"http://127.0.0.1:{port}/api/v1/lines"
    try:
        async with aiohttp.ClientSession() as http:
            assert await _status(http, base, first, until=200) == 200

            write_tokens(tmp_path, ("crm", second))
            proc.send_signal(signal.SIGHUP)
            assert await _status(http, base, second, until=200) == 200
            assert await _status(http, base, first) == 401

            tokens.write_text(f"crm:{second}\nbroken line\n", encoding="utf-8")
            proc.send_signal(signal.SIGHUP)
            await _logged(lines, "api.tokens_not_reloaded")
            assert await _status(http, base, second) == 200
    finally:
        proc.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(proc.wait(), 20) == 0
        await reader
    events = [json.loads(line) for line in lines if line.startswith("{")]
    reloaded = next(e for e in events if e["event"] == "api.tokens_reloaded")
    assert reloaded["tokens"] == 1 and reloaded["added"] == [] and reloaded["removed"] == []
    refused = next(e for e in events if e["event"] == "api.tokens_not_reloaded")
    assert "line 2" in refused["reason"]
    text = "\n".join(lines)
    assert first not in text and second not in text


async def _collect(stream: asyncio.StreamReader, lines: list[str]) -> None:
    async for raw in stream:
        lines.append(raw.decode("utf-8", "replace").rstrip("\n"))  # noqa: PERF401 - read while it runs


async def _status(http: aiohttp.ClientSession, url: str, token: str, *, until: int | None = None) -> int:
    """The status of a GET; with `until`, asked again (for up to 20 s) while the answer differs or the
    daemon is not listening yet."""
    deadline = asyncio.get_running_loop().time() + 20
    while True:
        try:
            async with http.get(url, headers={"Authorization": f"Bearer {token}"}) as resp:
                status = resp.status
        except aiohttp.ClientConnectionError:
            status = 0
        if until is None or status == until or asyncio.get_running_loop().time() > deadline:
            return status
        await asyncio.sleep(0.1)


async def _logged(lines: list[str], event: str) -> None:
    for _ in range(200):
        if any(f'"event": "{event}"' in line or f'"event":"{event}"' in line for line in lines):
            return
        await asyncio.sleep(0.05)
    pytest.fail(f"{event} never logged")

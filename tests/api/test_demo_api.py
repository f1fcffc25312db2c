"""`cti-daemon demo` prints a working API call: its token opens /api/v1, and no token is refused."""

from __future__ import annotations

import asyncio
import re
import signal
import sys

import aiohttp

from tests.support.ports import free_port_run


async def test_given_the_demo_then_the_printed_curl_line_answers_with_the_lines() -> None:
    base = free_port_run(3)
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "cti_daemon", "demo", "--port-base", str(base), "--duration", "20",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert proc.stdout is not None
    try:
        line = ""
        while not line.startswith("API:"):
            line = (await asyncio.wait_for(proc.stdout.readline(), 20)).decode()
            assert line, "the demo ended before printing its API line"
        match = re.search(r"Bearer (\S+)' (http://\S+)", line)
        assert match, line
        token, url = match.groups()
        assert url == f"http://127.0.0.1:{base + 2}/api/v1/lines"
        async with aiohttp.ClientSession() as http:
            for _ in range(100):  # the banner is printed just before the daemon starts listening
                try:
                    async with http.get(url, headers={"Authorization": f"Bearer {token}"}) as resp:
                        assert resp.status == 200
                        assert "lines" in await resp.json()
                        break
                except aiohttp.ClientConnectionError:
                    await asyncio.sleep(0.1)
            else:
                raise AssertionError("the demo's API never answered")
            async with http.get(url) as resp:
                assert resp.status == 401
    finally:
        proc.send_signal(signal.SIGINT)
        await asyncio.wait_for(proc.communicate(), 20)
    assert proc.returncode == 0

"""`cti-daemon demo` prints one sign-in per demo person (reception and each employee) with a password it
generated, in one line each, and those sign-ins work on the running demo."""

from __future__ import annotations

import asyncio
import re
import sys

import aiohttp

from tests.support.ports import free_port_run

LINE = re.compile(
    r"^console: http://127\.0\.0\.1:(?P<port>\d+)/  login: (?P<login>\S+)  password: (?P<password>\S+)"
    r"  \((?P<role>reception|employee)\)$"
)


async def test_given_demo_started_then_each_person_gets_a_printed_sign_in_that_works() -> None:
    base = free_port_run(3)
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "cti_daemon",
        "demo",
        "--duration",
        "20",
        "--port-base",
        str(base),
        "--calls-per-minute",
        "1",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert proc.stdout is not None
    found: dict[str, tuple[str, str, int]] = {}
    try:
        while len(found) < 4:
            line = (await asyncio.wait_for(proc.stdout.readline(), 30)).decode()
            assert line, "the demo ended before printing its sign-ins"
            if (match := LINE.match(line.rstrip("\n"))) is not None:
                found[match["login"]] = (match["password"], match["role"], int(match["port"]))
        assert {login: role for login, (_, role, _) in found.items()} == {
            "asmirnova": "reception",
            "ivolkova": "employee",
            "porlov": "employee",
            "slebedev": "employee",
        }
        assert {port for _, _, port in found.values()} == {base + 2}
        assert len({password for password, _, _ in found.values()}) == 4
        password = found["asmirnova"][0]
        async with aiohttp.ClientSession() as http:
            body = {"login": "asmirnova", "password": password}
            async with http.post(f"http://127.0.0.1:{base + 2}/api/v1/session", json=body) as resp:
                assert resp.status == 200
                assert (await resp.json())["role"] == "reception"
    finally:
        proc.terminate()
        _, stderr = await proc.communicate()
    assert "Traceback" not in stderr.decode()
    assert password not in stderr.decode()

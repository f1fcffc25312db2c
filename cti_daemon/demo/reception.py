"""The demo's receptionist: answers at 100, registers what the caller wants and puts every other known
caller through to the employee of that purpose, over the daemon's own HTTP API — so the demo shows the
card popping at the employee with reception's description."""

from __future__ import annotations

import asyncio

import aiohttp

from cti_daemon.ami.simulator.scenarios import CallHandle

# purpose -> (employee, what reception writes)
_DESK = {
    "service": ("e-201", "Knocking from the front suspension, wants a slot this week"),
    "showroom": ("e-202", "Asks about the trade-in of their car"),
    "shop": ("e-203", "Needs winter tyres, has the order number"),
    "feedback": ("e-201", "Unhappy with the last repair, asks to be called back"),
}


class DemoReceptionist:
    def __init__(self, base_url: str, token: str) -> None:
        self._base = base_url
        self._headers = {"Authorization": f"Bearer {token}"}
        self._turn = 0

    async def handle(self, started: asyncio.Future[CallHandle], http: aiohttp.ClientSession) -> None:
        handle = await started
        if handle.answered is None:
            return
        await handle.answered.wait()
        self._turn += 1
        if self._turn % 2:
            return  # every other answered call stays with reception
        await asyncio.sleep(1.0)  # reception listens, then types
        purpose = ["service", "showroom", "shop", "feedback"][self._turn // 2 % 4]
        employee, text = _DESK[purpose]
        body = {
            "type": "call",
            "call_id": handle.call_id,
            "purpose": purpose,
            "responsible_employee_id": employee,
            "description": text,
            "transfer": True,
        }
        async with http.post(f"{self._base}/api/v1/contacts", json=body, headers=self._headers) as resp:
            await resp.read()  # the pop at the employee shows what happened; nothing to print here

"""One AMI action on a connection: sent, its answer (and list items) awaited, typed errors raised."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from cti_daemon.ami.errors import AmiTimeoutError, classify
from cti_daemon.ami.protocol import AmiProtocol
from cti_daemon.ami.response import AmiResponse


async def exchange(
    protocol: AmiProtocol,
    name: str,
    headers: Mapping[str, str | list[str]],
    *,
    timeout: float,
    as_list: bool,
    check: bool,
) -> AmiResponse:
    wire: dict[str, str | list[str]] = {"Action": name}
    for key, value in headers.items():
        for v in value if isinstance(value, list) else [value]:
            if "\r" in v or "\n" in v:
                raise ValueError(f"{name}: header {key} contains a line break")
        wire[key] = value
    future = protocol.send_action(wire, as_list=as_list)
    try:
        # asyncio.timeout, not wait_for: on 3.11 wait_for swallows a cancellation that arrives as the
        # answer does, and a link being closed mid-login then never stops.
        async with asyncio.timeout(timeout):
            result: Any = await future
    except TimeoutError:
        raise AmiTimeoutError(f"{name}: no answer within {timeout:g} s") from None
    messages = result if isinstance(result, list) else [result]
    head = dict(messages[0].items()) if messages else {}
    head.pop("content", None)
    items: list[Mapping[str, str]] = [{k: v for k, v in m.items() if k != "content"} for m in messages[1:]]
    if items and items[-1].get("EventList") == "Complete":
        items.pop()  # the list's closing event (DeviceStateListComplete...): not an item
    response = AmiResponse(head, items)
    if check and not response.ok:
        raise classify(name, response.message or head.get("Response", "error"))
    return response

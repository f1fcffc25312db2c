"""A test subscriber on a real broker: collects messages, waits for the one a test expects."""

from __future__ import annotations

import asyncio
import contextlib
import json
import ssl
import time
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Self

import aiomqtt


@dataclass(frozen=True, slots=True)
class Received:
    topic: str
    payload: Any  # parsed JSON, or the raw text when it is not JSON
    retain: bool
    at: float  # time.monotonic() when it arrived


class Subscriber:
    def __init__(
        self,
        url: str,
        *topic_filters: str,
        client_id: str | None = None,
        username: str | None = None,
        password: str | None = None,
        ca_file: str | None = None,
    ) -> None:
        host, _, port = url.removeprefix("mqtt://").removeprefix("mqtts://").rpartition(":")
        tls = ssl.create_default_context(cafile=ca_file) if url.startswith("mqtts://") else None
        self._client = aiomqtt.Client(
            host, int(port), identifier=client_id, username=username, password=password, tls_context=tls
        )
        self._filters = topic_filters or ("#",)
        self.messages: list[Received] = []
        self._arrived = asyncio.Condition()
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Self:
        await self._client.__aenter__()
        for topic_filter in self._filters:
            await self._client.subscribe(topic_filter, qos=1)
        self._task = asyncio.create_task(self._read())
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, aiomqtt.MqttError):
                await self._task
        with contextlib.suppress(aiomqtt.MqttError):
            await self._client.__aexit__(et, e, tb)

    async def _read(self) -> None:
        async for message in self._client.messages:
            raw = message.payload
            text = raw.decode() if isinstance(raw, bytes | bytearray) else str(raw)
            try:
                payload: Any = json.loads(text)
            except ValueError:
                payload = text
            async with self._arrived:
                self.messages.append(
                    Received(str(message.topic), payload, bool(message.retain), time.monotonic())
                )
                self._arrived.notify_all()

    async def publish(self, topic: str, payload: Any, *, retain: bool = False) -> None:
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        await self._client.publish(topic, data, qos=1, retain=retain)

    def on(self, topic: str) -> list[Received]:
        return [m for m in self.messages if m.topic == topic]

    async def wait_on(self, topic: str, timeout: float = 5.0) -> Received:
        """The first message on `topic`, whatever its payload."""
        async with self._arrived:
            await asyncio.wait_for(self._arrived.wait_for(lambda: bool(self.on(topic))), timeout)
        return self.on(topic)[0]

    async def wait_for(self, topic: str, timeout: float = 5.0, **match: Any) -> Received:
        """The first message on `topic` whose payload has every key=value in `match`."""

        def found() -> Received | None:
            for m in self.messages:
                if (
                    m.topic == topic
                    and isinstance(m.payload, dict)
                    and all(m.payload.get(k) == v for k, v in match.items())
                ):
                    return m
            return None

        async with self._arrived:
            await asyncio.wait_for(self._arrived.wait_for(lambda: found() is not None), timeout)
        result = found()
        assert result is not None
        return result

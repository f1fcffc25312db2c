"""`cti-daemon agent`: the reference agent client, the example other clients follow.

It logs in as one employee: subscribes to that employee's pops and notifications, every line, and the
employee's own presence as the daemon confirms it; prints each as text; says "online" on its own retained
`agents/{id}/client` topic, with "offline" as its will (and said on a clean exit); and asks for a
presence change on `presence/{id}/set`. It reconnects with back-off and prints what it cannot read
instead of stopping.
"""

from __future__ import annotations

import asyncio
import json
import random
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TextIO
from urllib.parse import urlsplit

import aiomqtt

from cti_daemon.agent import card
from cti_daemon.backoff import backoff_delay
from cti_daemon.outbound.topics import Topics

OFFLINE = b'"offline"'
ONLINE = b'"online"'


@dataclass(frozen=True, slots=True)
class AgentOptions:
    employee_id: str
    url: str = "mqtt://127.0.0.1:1883"
    prefix: str = "cti"
    username: str | None = None
    password: str | None = None
    ca_file: str | None = None
    status: str | None = None
    note: str | None = None
    reconnect_max_delay_s: float = 10.0
    # "mine": the employee's own line and the lines of the calls it is in; "all": every line.
    lines: str = "mine"


class AgentClient:
    def __init__(self, options: AgentOptions, out: TextIO, err: TextIO) -> None:
        self.options = options
        self.topics = Topics(options.prefix)
        self._out = out
        self._err = err
        self._lines: dict[str, str] = {}
        # The calls this employee is in (from its pops and its own line), and the other lines last shown
        # in one of them (their next change, e.g. back to ready, is shown too).
        self._my_calls: dict[str, None] = {}
        self._following: set[str] = set()
        # QoS 1 is at least once: a pop re-sent after a lost acknowledgement is shown once.
        self._shown: dict[tuple[str, str, str], None] = {}
        self._rng = random.Random()
        me = options.employee_id
        self._renderers: list[tuple[str, Callable[[str, Any], str | None]]] = [
            (self.topics.popup(me), lambda _t, p: self._pop(p)),
            (self.topics.notify(me), lambda _t, p: card.render_notify(p)),
            (self.topics.presence(me), lambda _t, p: card.render_presence(p)),
            (self.topics.line("+"), self._line),
        ]

    def _client(self) -> aiomqtt.Client:
        url = urlsplit(self.options.url)
        tls = url.scheme == "mqtts"
        return aiomqtt.Client(
            url.hostname or "127.0.0.1",
            url.port or (8883 if tls else 1883),
            identifier=f"cti-agent-{self.options.employee_id}",
            username=self.options.username,
            password=self.options.password,
            will=aiomqtt.Will(
                self.topics.agent_client(self.options.employee_id), OFFLINE, qos=1, retain=True
            ),
            tls_context=ssl.create_default_context(cafile=self.options.ca_file) if tls else None,
            timeout=10.0,
        )

    async def run(self, stop: asyncio.Event) -> None:
        attempt = 0
        while not stop.is_set():
            try:
                async with self._client() as client:
                    attempt = 0
                    await self._session(client, stop)
                    return
            except aiomqtt.MqttError as exc:
                self._say(self._err, f"agent: broker unavailable ({exc}); retrying")
            delay = backoff_delay(attempt, self.options.reconnect_max_delay_s, self._rng)
            attempt += 1
            try:
                await asyncio.wait_for(stop.wait(), delay)
            except TimeoutError:
                continue

    async def _session(self, client: aiomqtt.Client, stop: asyncio.Event) -> None:
        me = self.options.employee_id
        for topic_filter, _ in self._renderers:
            await client.subscribe(topic_filter, qos=1)
        await client.publish(self.topics.agent_client(me), ONLINE, qos=1, retain=True)
        if self.options.status is not None:
            request = {"status": self.options.status, "note": self.options.note}
            await client.publish(self.topics.presence_set(me), json.dumps(request).encode(), qos=1)
        self._say(self._out, f"agent {me}: online at {_safe(self.options.url)}; waiting for calls")
        reader = asyncio.create_task(self._read(client))
        stopper = asyncio.create_task(stop.wait())
        try:
            done, _ = await asyncio.wait({reader, stopper}, return_when=asyncio.FIRST_COMPLETED)
            if reader in done:
                reader.result()  # the MqttError that ended the session: reconnect
        finally:
            for task in (reader, stopper):
                task.cancel()
            await asyncio.gather(reader, stopper, return_exceptions=True)
        # A clean DISCONNECT suppresses the will: say "offline" ourselves.
        await client.publish(self.topics.agent_client(me), OFFLINE, qos=1, retain=True)
        self._say(self._out, f"agent {me}: offline")

    async def _read(self, client: aiomqtt.Client) -> None:
        async for message in client.messages:
            raw = message.payload if isinstance(message.payload, bytes | bytearray) else b""
            topic = str(message.topic)
            try:
                payload = json.loads(bytes(raw).decode("utf-8"))
            except ValueError as exc:
                self._say(self._err, f"agent: unreadable message on {topic} ({exc})")
                continue
            if not isinstance(payload, dict):
                self._say(self._err, f"agent: unreadable message on {topic} (not a JSON object)")
                continue
            for topic_filter, render in self._renderers:
                if message.topic.matches(topic_filter):
                    text = render(topic, payload)
                    if text:
                        self._say(self._out, text)
                    break

    def _pop(self, payload: dict[str, Any]) -> str | None:
        key = (str(payload.get("call_id")), str(payload.get("type")), str(payload.get("at")))
        if key in self._shown:
            return None
        self._shown[key] = None
        if len(self._shown) > 1000:
            del self._shown[next(iter(self._shown))]
        if payload.get("type") in ("popup", "update") and payload.get("call_id"):
            self._remember_call(str(payload["call_id"]))
        return card.render(payload)

    def _remember_call(self, call_id: str) -> None:
        self._my_calls[call_id] = None
        if len(self._my_calls) > 1000:
            del self._my_calls[next(iter(self._my_calls))]

    def _line(self, _topic: str, payload: dict[str, Any]) -> str | None:
        """Lines change often; print one only when its status changes, and (unless `lines` is "all")
        only this employee's own line and the lines of its calls: with 40 extensions the rest would
        drown the cards."""
        ext = str(payload.get("extension", "?"))
        status = str(payload.get("status", "?"))
        if self._lines.get(ext) == status:
            return None
        self._lines[ext] = status
        if self.options.lines == "all":
            return card.render_line(payload)
        call_id = str(payload["call_id"]) if payload.get("call_id") else None
        if payload.get("employee_id") == self.options.employee_id:
            if call_id:
                self._remember_call(call_id)
            return card.render_line(payload)
        if call_id is not None and call_id in self._my_calls:
            self._following.add(ext)
            return card.render_line(payload)
        if ext in self._following:
            self._following.discard(ext)  # the line has left our call: show that once
            return card.render_line(payload)
        return None

    @staticmethod
    def _say(stream: TextIO, text: str) -> None:
        stream.write(text + "\n")
        stream.flush()


def _safe(url: str) -> str:
    parts = urlsplit(url)
    return (
        f"{parts.scheme}://{parts.hostname}:{parts.port}"
        if parts.port
        else f"{parts.scheme}://{parts.hostname}"
    )


def run_agent(options: AgentOptions, out: TextIO, err: TextIO) -> None:
    """Until SIGINT/SIGTERM; then "offline" is published before leaving."""

    async def main() -> None:
        import signal  # noqa: PLC0415

        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await AgentClient(options, out, err).run(stop)

    asyncio.run(main())

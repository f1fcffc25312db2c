"""The MQTT adapter: one aiomqtt client kept connected for the daemon's lifetime.

aiomqtt does not reconnect and raises when publishing while disconnected, so everything goes through a
bounded outbox that a single pump drains in order, QoS 1. Up to WINDOW messages are in flight at once (a
pop never waits for the broker to acknowledge the line change queued just before it); a message leaves
for good only once the broker has acknowledged it, and the unacknowledged ones go first after a
reconnect. Retained state (the daemon's status, every line, every presence) is remembered and
published again after each reconnect; the will marks the daemon offline if it dies without saying so.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import random
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from types import TracebackType
from typing import Any, Self
from urllib.parse import urlsplit

import aiomqtt

from cti_daemon import logs
from cti_daemon.backoff import backoff_delay
from cti_daemon.config import MqttConfig
from cti_daemon.mqtt.outbox import Outbox, Outgoing, Shed, StillRelevant, describe
from cti_daemon.mqtt.publish_now import publish_now
from cti_daemon.timefmt import utcnow

log = logs.get("cti.mqtt")

Handler = Callable[[str, bytes], None]
__all__ = ["MqttLink", "MqttStats", "Outgoing", "StillRelevant", "encode"]

# QoS 1 messages sent and not yet acknowledged. paho's own limit (20 by default) is raised to it: with 20,
# throughput was 20 per broker round trip, and at 150 calls/s on a loaded machine the outbox filled while
# the daemon's CPU idled (bench/capacity.py).
WINDOW = 128
PUBACK_TIMEOUT_S = 10.0  # a broker that does not acknowledge by then is treated as gone


def encode(payload: Any) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


@dataclass(slots=True)
class MqttStats:
    published: int = 0
    dropped_stale: int = 0
    dropped_overflow: int = 0  # a pop, notice or presence given up: the outbox held nothing sheddable
    connects: int = 0
    shed_call_event: int = 0  # given up to make room, what matters least first (mqtt/outbox.py)
    shed_line: int = 0


class MqttLink:
    def __init__(
        self,
        config: MqttConfig,
        *,
        status_topic: str,
        offline_payload: Any,
        client_id: str | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self._cfg = config
        self._status_topic = status_topic
        self._offline = encode(offline_payload)
        self._client_id = client_id or config.client_id or f"cti-daemon-{config.node_id}"
        self._rng = rng or random.Random()
        self._outbox = Outbox(config.outbox_limit)
        self._resend: dict[str, Shed] = {}  # retained topics whose queued state was shed: sent again later
        self._shed_logged_at = 0.0
        self._inflight: dict[int, Outgoing] = {}  # sent, not yet acknowledged; in the order sent
        # While a session serves: its client, the future a failed send breaks, the sends under way.
        self._session: tuple[aiomqtt.Client, asyncio.Future[Any], set[asyncio.Future[None]]] | None = None
        self._sent = 0
        self._wake = asyncio.Event()
        self._retained: dict[str, bytes] = {}
        self._handlers: list[tuple[str, Handler]] = []
        self._client: aiomqtt.Client | None = None
        self._task: asyncio.Task[None] | None = None
        self._connected = asyncio.Event()
        self._since: datetime = utcnow()
        self._idle = asyncio.Event()
        self._idle.set()
        self._closing = False
        self.stats = MqttStats()

    # --- lifetime ------------------------------------------------------------------------------------
    async def __aenter__(self) -> Self:
        self._task = asyncio.create_task(self._run(), name="mqtt-link")
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def close(self) -> None:
        self._closing = True
        if self.connected:
            # A clean DISCONNECT suppresses the will, so say "offline" ourselves: through the outbox, after
            # whatever is queued (a status queued earlier must not land after it), waiting a little for it.
            self._retained[self._status_topic] = self._offline
            self._enqueue(Outgoing(self._status_topic, self._offline, retain=True, still_relevant=None))
            with contextlib.suppress(TimeoutError):
                await self.drain(2.0)
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    @property
    def since(self) -> datetime:
        return self._since

    @property
    def outbox_depth(self) -> int:
        """Messages not yet acknowledged by the broker: waiting, or sent and in flight."""
        return len(self._outbox) + len(self._inflight)

    async def wait_connected(self, timeout: float | None = None) -> None:
        await asyncio.wait_for(self._connected.wait(), timeout)

    async def drain(self, timeout: float = 5.0) -> None:
        """Wait until everything queued so far has been acknowledged by the broker."""
        await asyncio.wait_for(self._idle.wait(), timeout)

    # --- what the daemon calls -----------------------------------------------------------------------
    def publish(
        self,
        topic: str,
        payload: Any,
        *,
        still_relevant: StillRelevant | None = None,
        about: dict[str, str] | None = None,
        shed: Shed | None = None,
    ) -> None:
        """Queue a QoS 1 message. Never blocks, never raises; while the broker is away it waits in the
        outbox, and `still_relevant` (if given) decides at send time whether it is still worth sending.
        `about` names the message in log lines when it is dropped; `shed` says it may be given up first
        when the outbox is full."""
        self._enqueue(
            Outgoing(
                topic, encode(payload), retain=False, still_relevant=still_relevant, about=about, shed=shed
            )
        )

    def retain(self, topic: str, payload: Any, *, shed: Shed | None = None) -> None:
        """Publish retained state, and publish it again after every reconnect until replaced."""
        data = encode(payload)
        if self._retained.get(topic) == data:
            return
        self._retained[topic] = data
        self._enqueue(Outgoing(topic, data, retain=True, still_relevant=None, shed=shed))

    def subscribe(self, topic_filter: str, handler: Handler) -> None:
        """Register a handler (called with topic and raw payload); subscribed again after reconnects."""
        self._handlers.append((topic_filter, handler))
        client = self._client
        if client is not None:
            task = asyncio.get_running_loop().create_task(self._subscribe_one(client, topic_filter))
            task.add_done_callback(_log_failure)

    # --- internals -----------------------------------------------------------------------------------
    def _enqueue(self, item: Outgoing) -> None:
        self._idle.clear()
        session = self._session
        if session is not None and not self._outbox and len(self._inflight) < WINDOW:
            # Nothing waits ahead of it: hand it to the client now rather than wake the pump first (a loop
            # turn saved on every pop; measured with bench/ring_to_pop.py).
            self._start_send(*session, item)
            return
        dropped = self._outbox.append(item)
        if dropped is not None:
            self._given_up(dropped)
        self._wake.set()

    def _given_up(self, item: Outgoing) -> None:
        if item.shed is None:
            self.stats.dropped_overflow += 1
            log.warning("mqtt.outbox_full", limit=self._cfg.outbox_limit, **describe(item))
            return
        if item.shed == "call_event":
            self.stats.shed_call_event += 1
        else:
            self.stats.shed_line += 1
        if item.retain:
            self._resend[item.topic] = item.shed
        now = asyncio.get_running_loop().time()
        if now - self._shed_logged_at >= 5.0:  # one line per 5 s: a line per message would add to the load
            self._shed_logged_at = now
            log.warning(
                "mqtt.shedding",
                limit=self._cfg.outbox_limit,
                shed_call_events=self.stats.shed_call_event,
                shed_lines=self.stats.shed_line,
                effect="call events and line states are given up first; pops are kept",
            )

    def _resend_shed(self) -> None:
        """Once the outbox is empty: the current state of each retained topic whose update was shed."""
        queued = self._outbox.topics()
        resend, self._resend = self._resend, {}
        for topic, kind in resend.items():
            data = self._retained.get(topic)
            if data is not None and topic not in queued:
                self._outbox.append(Outgoing(topic, data, retain=True, still_relevant=None, shed=kind))

    def _start_send(
        self,
        client: aiomqtt.Client,
        broken: asyncio.Future[Any],
        sends: set[asyncio.Future[None]],
        item: Outgoing,
    ) -> None:
        self._sent += 1
        self._inflight[self._sent] = item
        # On the wire now, in the order queued; only the wait for the broker's PUBACK is a task.
        acked = publish_now(client, item.topic, item.payload, retain=item.retain, timeout_s=PUBACK_TIMEOUT_S)
        sends.add(acked)
        acked.add_done_callback(sends.discard)
        acked.add_done_callback(functools.partial(self._confirmed, self._sent, broken))

    def _new_client(self) -> aiomqtt.Client:
        url = urlsplit(self._cfg.url)
        tls = url.scheme == "mqtts"
        tls_context = None
        if tls:
            tls_context = ssl.create_default_context(cafile=self._cfg.ca_file)
            tls_context.sslsocket_class = _ClosingSslSocket
        return aiomqtt.Client(
            url.hostname or "127.0.0.1",
            url.port or (8883 if tls else 1883),
            username=self._cfg.username,
            password=self._cfg.password.reveal() if self._cfg.password is not None else None,
            identifier=self._client_id,
            will=aiomqtt.Will(self._status_topic, self._offline, qos=1, retain=True),
            keepalive=self._cfg.keepalive_s,
            tls_context=tls_context,
            timeout=PUBACK_TIMEOUT_S,
            max_inflight_messages=WINDOW,
        )

    async def _run(self) -> None:
        attempt = 0
        while True:
            try:
                async with self._new_client() as client:
                    self._client = client
                    self.stats.connects += 1
                    attempt = 0
                    self._set_connected(connected=True)
                    log.info("mqtt.connected", url=_safe_url(self._cfg.url), client_id=self._client_id)
                    await self._serve(client)
            except aiomqtt.MqttError as exc:
                level = log.warning if self.connected or attempt == 0 else log.info
                level(
                    "mqtt.unavailable",
                    url=_safe_url(self._cfg.url),
                    reason=str(exc),
                    outbox=len(self._outbox),
                )
            finally:
                self._client = None
                self._set_connected(connected=False)
            delay = backoff_delay(attempt, self._cfg.reconnect_max_delay_s, self._rng)
            attempt += 1
            log.info("mqtt.reconnecting", delay_s=round(delay, 2), attempt=attempt)
            await asyncio.sleep(delay)

    async def _serve(self, client: aiomqtt.Client) -> None:
        for topic_filter, _ in self._handlers:
            await client.subscribe(topic_filter, qos=1)
        # Retained state is sent from the map below, so queued copies go first: a retain() made while the
        # map is being sent queues a new item, which stays.
        self._outbox.keep_only(lambda m: not m.retain)
        self._resend.clear()
        # Status first, so a client sees the daemon online before its lines; then the rest at once.
        ordered = sorted(self._retained, key=lambda t: t != self._status_topic)
        if ordered:
            await client.publish(ordered[0], self._retained[ordered[0]], qos=1, retain=True)
        await asyncio.gather(
            *(client.publish(topic, self._retained[topic], qos=1, retain=True) for topic in ordered[1:])
        )
        reader = asyncio.create_task(self._read(client), name="mqtt-reader")
        pump = asyncio.create_task(self._pump(client), name="mqtt-pump")
        try:
            done, _ = await asyncio.wait({reader, pump}, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                task.result()  # re-raises the MqttError that ended the session
        finally:
            for task in (reader, pump):
                task.cancel()
            await asyncio.gather(reader, pump, return_exceptions=True)

    async def _pump(self, client: aiomqtt.Client) -> None:
        broken: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        sends: set[asyncio.Future[None]] = set()
        self._session = (client, broken, sends)
        try:
            while True:
                if broken.done():
                    broken.result()  # the MqttError of a send ends the session
                if not self._outbox and self._resend:
                    self._resend_shed()
                if not self._outbox or len(self._inflight) >= WINDOW:
                    if not self._outbox and not self._inflight:
                        self._idle.set()
                    self._wake.clear()
                    waiter: asyncio.Future[Any] = asyncio.ensure_future(self._wake.wait())
                    await asyncio.wait([waiter, broken], return_when=asyncio.FIRST_COMPLETED)
                    waiter.cancel()
                    continue
                item = self._outbox.popleft()
                if item.still_relevant is not None and not item.still_relevant():
                    self.stats.dropped_stale += 1
                    log.info(
                        "mqtt.dropped_stale",
                        topic=item.topic,
                        why="no longer relevant after the broker outage (the call ended)",
                        **(item.about or {}),
                    )
                    continue
                self._start_send(client, broken, sends, item)
        finally:
            self._session = None
            for task in list(sends):
                task.cancel()
            await asyncio.gather(*sends, return_exceptions=True)
            if broken.done():
                broken.exception()  # retrieved: asyncio would otherwise log it as never retrieved
            # Not acknowledged: sent again first after the reconnect (QoS 1 is at least once).
            self._outbox.push_front(self._inflight.values())
            self._inflight.clear()

    def _confirmed(self, seq: int, broken: asyncio.Future[Any], acked: asyncio.Future[None]) -> None:
        if acked.cancelled():
            return  # the session ended first: the message stays in flight, sent again after the reconnect
        exc = acked.exception()
        if exc is not None:
            if not broken.done():
                broken.set_exception(
                    exc if isinstance(exc, aiomqtt.MqttError) else aiomqtt.MqttError(repr(exc))
                )
            return
        if self._inflight.pop(seq, None) is not None:
            self.stats.published += 1
        self._wake.set()

    async def _read(self, client: aiomqtt.Client) -> None:
        async for message in client.messages:
            topic = str(message.topic)
            payload = message.payload if isinstance(message.payload, bytes) else str(message.payload).encode()
            for topic_filter, handler in self._handlers:
                if message.topic.matches(topic_filter):
                    try:
                        handler(topic, payload)
                    except Exception:
                        log.exception("mqtt.handler_failed", topic=topic)

    async def _subscribe_one(self, client: aiomqtt.Client, topic_filter: str) -> None:
        with contextlib.suppress(aiomqtt.MqttError):
            await client.subscribe(topic_filter, qos=1)

    def _set_connected(self, *, connected: bool) -> None:
        if connected == self._connected.is_set():
            return
        self._since = utcnow()
        if connected:
            self._connected.set()
        else:
            self._connected.clear()
            if not self._closing:
                log.warning("mqtt.disconnected", outbox=len(self._outbox))


class _ClosingSslSocket(ssl.SSLSocket):
    """paho leaves the socket open when the TLS handshake fails (a wrong CA, an expired certificate), one
    per reconnect attempt until the garbage collector notices; close it at once instead."""

    def do_handshake(self, block: bool = False) -> None:
        try:
            super().do_handshake(block)
        except BaseException:
            self.close()
            raise


def _safe_url(url: str) -> str:
    parts = urlsplit(url)
    host = parts.hostname or ""
    return f"{parts.scheme}://{host}:{parts.port}" if parts.port else f"{parts.scheme}://{host}"


def _log_failure(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.warning("mqtt.subscribe_failed", reason=str(task.exception()))

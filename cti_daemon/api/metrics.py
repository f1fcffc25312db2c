"""Prometheus metrics: one registry per daemon (no process globals), served at /metrics.

Counters the daemon keeps anyway (MQTT stats, pops published) are read at scrape time by a collector
instead of being counted twice; what only exists here (AMI events, identification latency) is a live
metric the composition root feeds.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import TypeVar

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from cti_daemon.api.health import HealthProbe
from cti_daemon.api.routes import Route

T = TypeVar("T")
A = TypeVar("A")

# Identification is expected well under a millisecond with a cache and a few ms without one.
AMI_STATES = ("up", "auth_failed", "unreachable", "booting", "silent")
IDENTIFY_BUCKETS = (0.0002, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 5.0)


@dataclass(frozen=True, slots=True)
class DeliveryFigures:
    """What the MQTT side, the pop service, the journal's spool and the AMI reader report, read at scrape
    time."""

    published: int
    dropped_stale: int
    dropped_overflow: int
    connects: int
    outbox_depth: int
    outbox_limit: int
    pops_published: int
    journal_spooled: int = 0  # journal writes waiting in the local spool for the store
    ami_malformed: int = 0  # AMI frames skipped as not AMI (logged, first ten and one a thousand)
    ami_reason: str | None = None  # why AMI is not usable (link_health.DownReason), None while it is
    shed_call_events: int = 0  # given up first when the outbox was full (mqtt/outbox.py)
    shed_lines: int = 0


class _LiveCollector(Collector):
    def __init__(self, figures: Callable[[], DeliveryFigures], probe: HealthProbe) -> None:
        self._figures = figures
        self._probe = probe

    def collect(self) -> Iterator[CounterMetricFamily | GaugeMetricFamily]:
        f = self._figures()
        yield CounterMetricFamily("cti_pops_published", "Screen pops sent to agents", value=f.pops_published)
        yield CounterMetricFamily(
            "cti_mqtt_published", "MQTT messages acknowledged by the broker", value=f.published
        )
        dropped = CounterMetricFamily(
            "cti_mqtt_dropped",
            "MQTT messages dropped: stale (the call ended while the broker was away) or overflow "
            "(the outbox was full)",
            labels=["reason"],
        )
        dropped.add_metric(["stale"], f.dropped_stale)
        dropped.add_metric(["overflow"], f.dropped_overflow)
        yield dropped
        shed = CounterMetricFamily(
            "cti_mqtt_shed",
            "MQTT messages given up under overload, least important first, so that pops still go out",
            labels=["kind"],
        )
        shed.add_metric(["call_event"], f.shed_call_events)
        shed.add_metric(["line"], f.shed_lines)
        yield shed
        yield CounterMetricFamily("cti_mqtt_connects", "Connections made to the broker", value=f.connects)
        yield GaugeMetricFamily(
            "cti_mqtt_outbox_depth", "Messages waiting for the broker", value=f.outbox_depth
        )
        yield GaugeMetricFamily(
            "cti_mqtt_outbox_limit", "Outbox bound (mqtt.outbox_limit)", value=f.outbox_limit
        )
        yield GaugeMetricFamily(
            "cti_journal_spooled",
            "Journal writes (contacts, notes, missed marks) waiting in the local spool for the store",
            value=f.journal_spooled,
        )
        yield CounterMetricFamily(
            "cti_ami_malformed_frames", "AMI frames skipped as malformed", value=f.ami_malformed
        )
        up = GaugeMetricFamily(
            "cti_connection_up",
            "1 when the link is up (database: as of its last check)",
            labels=["component"],
        )
        for name, is_up in self._probe.states().items():
            up.add_metric([name], 1.0 if is_up else 0.0)
        yield up
        ami = GaugeMetricFamily(
            "cti_ami_state",
            "1 for the AMI link's state now: up, or why it is down (auth_failed: login refused, unreachable: "
            "no TCP connection, booting: Asterisk not fully booted, silent: no answers)",
            labels=["state"],
        )
        # Every state 0 while the first connection is still being made (nothing has failed yet).
        now = f.ami_reason or ("up" if self._probe.states().get("ami") else None)
        for state in AMI_STATES:
            ami.add_metric([state], 1.0 if state == now else 0.0)
        yield ami


class DaemonMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.ami_events = Counter(
            "cti_ami_events", "AMI events received (rate() gives events per second)", registry=self.registry
        )
        self.identification = Histogram(
            "cti_identification_seconds",
            "Time to identify a caller (number rules and the store)",
            buckets=IDENTIFY_BUCKETS,
            registry=self.registry,
        )
        self.task_restarts = Counter(
            "cti_task_restarts",
            "Long-lived daemon tasks restarted after they failed (see the task.restarted log line)",
            ["task"],
            registry=self.registry,
        )

    def watch(self, figures: Callable[[], DeliveryFigures], probe: HealthProbe) -> None:
        self.registry.register(_LiveCollector(figures, probe))

    def timed(self, fn: Callable[[A], Awaitable[T]]) -> Callable[[A], Awaitable[T]]:
        """`fn` with each call's duration observed in the identification histogram."""
        histogram = self.identification

        async def timed_call(arg: A) -> T:
            started = time.perf_counter()
            try:
                return await fn(arg)
            finally:
                histogram.observe(time.perf_counter() - started)

        return timed_call

    def timed_now(self, fn: Callable[[A], T | None]) -> Callable[[A], T | None]:
        """`fn` (an answer now, or None: ask the awaitable one) with each answer's duration observed."""
        histogram = self.identification

        def timed_call(arg: A) -> T | None:
            started = time.perf_counter()
            result = fn(arg)
            if result is not None:
                histogram.observe(time.perf_counter() - started)
            return result

        return timed_call

    def render(self) -> bytes:
        return generate_latest(self.registry)


def routes(metrics: DaemonMetrics, probe: HealthProbe) -> list[Route]:
    async def scrape(_request: web.Request) -> web.Response:
        await probe.store_up()  # the database gauge is as fresh as the scrape
        return web.Response(body=metrics.render(), headers={"Content-Type": CONTENT_TYPE_LATEST})

    return [
        Route(
            "GET",
            "/metrics",
            scrape,
            "Prometheus metrics: AMI events, pops, identification latency, links, the MQTT outbox",
            {"200": {"description": "Prometheus text format", "content": {"text/plain": {}}}},
            public=True,
            tag="operations",
        )
    ]

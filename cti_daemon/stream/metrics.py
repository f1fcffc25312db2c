"""The stream's figures on /metrics, read at scrape time from the hub."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from cti_daemon.stream.hub import StreamHub


class StreamCollector(Collector):
    def __init__(self, hub: StreamHub) -> None:
        self._hub = hub

    def collect(self) -> Iterator[CounterMetricFamily | GaugeMetricFamily]:
        hub = self._hub
        yield GaugeMetricFamily(
            "cti_stream_connections", "Pages connected to the live stream", value=hub.connected
        )
        yield CounterMetricFamily(
            "cti_stream_cut_off",
            "Pages cut off for not reading their stream (their queue was full)",
            value=hub.cut_off_total,
        )
        yield CounterMetricFamily("cti_stream_messages", "Envelopes queued for pages", value=hub.sent_total)
        yield GaugeMetricFamily(
            "cti_stream_queue_limit", "Envelopes a page may have waiting", value=hub.queue_limit
        )

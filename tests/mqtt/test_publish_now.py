"""The publish that writes at once, against a real broker: delivered in order, acknowledged, and no writer
left behind for the event loop to spin on."""

from __future__ import annotations

import asyncio
import selectors
import time

import aiomqtt
import pytest

from cti_daemon.demo.broker import LocalBroker
from cti_daemon.mqtt import publish_now as publish_now_module
from cti_daemon.mqtt.publish_now import publish_now
from tests.support.mqtt import Subscriber


def _writer_registered(client: aiomqtt.Client) -> bool:
    """Whether the event loop watches the client's socket for writability (a writer with nothing to
    write wakes the loop on every turn)."""
    sock = client._client.socket()
    assert sock is not None
    selector = asyncio.get_running_loop()._selector  # type: ignore[attr-defined]
    try:
        key = selector.get_key(sock.fileno())
    except KeyError:
        return False
    return bool(key.events & selectors.EVENT_WRITE)


async def test_given_a_connected_client_when_pops_are_published_now_then_all_arrive_in_order_and_acknowledged(
    broker: LocalBroker,
) -> None:
    async with Subscriber(broker.url, "cti/#") as sub, aiomqtt.Client("127.0.0.1", broker.port) as client:
        acks = [
            publish_now(client, "cti/agents/e-1/popup", b'{"n":%d}' % n, retain=False, timeout_s=5)
            for n in range(300)
        ]
        await asyncio.gather(*acks)
        await sub.wait_for("cti/agents/e-1/popup", n=299)  # the last one
        assert [m.payload["n"] for m in sub.on("cti/agents/e-1/popup")] == list(range(300))
        assert client._pending_publishes == {}


async def test_given_messages_written_at_once_while_the_broker_talks_back_then_no_writer_is_left_to_spin(
    broker: LocalBroker,
) -> None:
    # The client also subscribes: paho queues its own packets (PUBACKs for what it receives) and asks for
    # a writer a loop turn later; a publish written at once must not leave that writer behind.
    async with aiomqtt.Client("127.0.0.1", broker.port) as client:
        await client.subscribe("cti/echo/#", qos=1)
        for n in range(50):
            await publish_now(client, f"cti/echo/{n}", b"{}", retain=False, timeout_s=5)
        received = 0
        async with asyncio.timeout(5):
            async for _ in client.messages:
                received += 1
                if received == 50:
                    break
        await asyncio.sleep(0.05)
        assert not _writer_registered(client)
        cpu = time.process_time()
        await asyncio.sleep(0.5)
        # An idle loop uses next to no CPU; one woken on every turn by a writable socket uses all of it.
        assert time.process_time() - cpu < 0.25


async def test_given_a_paho_whose_writer_flag_is_not_recognised_then_the_plain_publish_delivers(
    broker: LocalBroker, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(publish_now_module, "_knows_writer", lambda _inner: False)  # another paho
    async with Subscriber(broker.url, "cti/#") as sub, aiomqtt.Client("127.0.0.1", broker.port) as client:
        await publish_now(client, "cti/x", b'{"n":1}', retain=False, timeout_s=5)
        assert (await sub.wait_for("cti/x")).payload == {"n": 1}


async def test_given_the_connection_is_gone_then_the_future_fails_with_an_mqtt_error(
    broker: LocalBroker,
) -> None:
    async with aiomqtt.Client("127.0.0.1", broker.port) as client:
        client._client.disconnect()
        await asyncio.sleep(0.2)
        with pytest.raises(aiomqtt.MqttError):
            await publish_now(client, "cti/x", b"{}", retain=False, timeout_s=1)

"""A QoS 1 publish that is on the wire when the call returns; the acknowledgement is awaited afterwards.

Why: `aiomqtt.Client.publish` is a coroutine, so a caller that must not wait (the pop, from the AMI
reader) wraps it in a task: the message reaches paho one loop turn later, paho then asks for a writer
through `call_soon_threadsafe(add_writer)` and the bytes leave the turn after that — three loop turns,
each shared with whatever else is ready, between the ring and the pop's packet (measured with
bench/ring_to_pop.py). Here paho queues the packet and writes it at once (`loop_write`, paho's API for
an external loop), and only the wait for the PUBACK is left to a task.

It relies on aiomqtt 2.x's `_client` (the paho client) and `_pending_publishes` (how aiomqtt routes a
PUBACK to its waiter), and on paho 2.x's `_registered_write` flag (see `_publish_and_write`); the versions
are pinned by `aiomqtt>=2.5,<3`. Where they are missing, the plain awaitable publish is used: slower,
equally correct.
"""

from __future__ import annotations

import asyncio
from typing import Any

import aiomqtt
import paho.mqtt.client as paho


def publish_now(
    client: aiomqtt.Client, topic: str, payload: bytes, *, retain: bool, timeout_s: float
) -> asyncio.Future[None]:
    """Send now; the returned future completes when the broker has acknowledged, and fails with
    `aiomqtt.MqttError` when the message could not be sent or was not acknowledged in `timeout_s`."""
    loop = asyncio.get_running_loop()
    inner: Any = getattr(client, "_client", None)
    pending: Any = getattr(client, "_pending_publishes", None)
    if not isinstance(inner, paho.Client) or not isinstance(pending, dict) or not _knows_writer(inner):
        return loop.create_task(client.publish(topic, payload, qos=1, retain=retain, timeout=timeout_s))
    try:
        info = _publish_and_write(inner, topic, payload, retain=retain)
    except (ValueError, OSError) as exc:
        return _failed(loop, aiomqtt.MqttError(f"Could not publish message: {exc}"))
    if info.rc != paho.MQTT_ERR_SUCCESS:
        return _failed(loop, aiomqtt.MqttCodeError(info.rc, "Could not publish message"))
    if info.is_published():
        return _done(loop)
    acked = asyncio.Event()
    pending[info.mid] = acked
    return loop.create_task(_acknowledged(pending, info.mid, acked, timeout_s))


def _knows_writer(inner: paho.Client) -> bool:
    return isinstance(getattr(inner, "_registered_write", None), bool) and hasattr(
        inner, "_call_socket_register_write"
    )


def _publish_and_write(inner: Any, topic: str, payload: bytes, *, retain: bool) -> paho.MQTTMessageInfo:
    """paho asks aiomqtt for a writer on every queued packet; aiomqtt adds it a loop turn later
    (`call_soon_threadsafe`) but removes it at once. Writing here while such an add is pending would
    leave a writer registered with nothing to write: a loop that never sleeps. So the packet is written
    here only when no writer is registered or pending (`_registered_write` is False), with paho's request
    for one suppressed meanwhile; otherwise the registered writer sends it, in order, as usual."""
    if inner._registered_write:  # see the module's docstring
        info: paho.MQTTMessageInfo = inner.publish(topic, payload, 1, retain)
        return info
    inner._registered_write = True  # paho skips asking for a writer
    try:
        info = inner.publish(topic, payload, 1, retain)
        if info.rc == paho.MQTT_ERR_SUCCESS:
            inner.loop_write()  # all written: paho clears the flag (its removal of no writer is harmless)
    finally:
        if inner._registered_write:  # bytes left (a full socket buffer) or nothing sent
            inner._registered_write = False
            if inner.want_write():
                inner._call_socket_register_write()  # the writer sends the rest
    return info


async def _acknowledged(pending: dict[int, Any], mid: int, acked: asyncio.Event, timeout_s: float) -> None:
    try:
        await asyncio.wait_for(acked.wait(), timeout_s)
    except TimeoutError:
        raise aiomqtt.MqttError("Operation timed out") from None
    finally:
        pending.pop(mid, None)


def _done(loop: asyncio.AbstractEventLoop) -> asyncio.Future[None]:
    done: asyncio.Future[None] = loop.create_future()
    done.set_result(None)
    return done


def _failed(loop: asyncio.AbstractEventLoop, exc: aiomqtt.MqttError) -> asyncio.Future[None]:
    failed: asyncio.Future[None] = loop.create_future()
    failed.set_exception(exc)
    return failed

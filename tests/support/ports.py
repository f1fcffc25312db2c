"""Consecutive free ports for a program that takes a base port (`cti-daemon demo --port-base N`: AMI on
N, MQTT on N+1, HTTP on N+2)."""

from __future__ import annotations

import contextlib
import os
import random
import socket

# Below Linux's ephemeral range (32768-60999): a port the kernel hands to some other test's outgoing
# connection or `bind(0)` is never in here, so only another explicit pick can collide, and each xdist
# worker picks from its own slice.
_LOW, _HIGH = 20000, 32000


def free_port_run(count: int) -> int:
    """A base N with N .. N+count-1 all bindable on 127.0.0.1 now."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw")
    slices = 8
    width = (_HIGH - _LOW) // slices
    low = _LOW + (int(worker) % slices if worker.isdigit() else 0) * width
    rng = random.Random()
    for _ in range(200):
        base = rng.randrange(low, low + width - count)
        if all(_bindable(base + i) for i in range(count)):
            return base
    raise RuntimeError(f"no {count} consecutive free ports in {low}-{low + width}")


def _bindable(port: int) -> bool:
    with socket.socket() as sock, contextlib.suppress(OSError):
        sock.bind(("127.0.0.1", port))
        return True
    return False

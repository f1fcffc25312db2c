"""Reconnect back-off shared by every link that keeps a connection alive (AMI, MQTT, the agent client)."""

from __future__ import annotations

import random

_FIRST_DELAY_S = 0.5


def backoff_delay(attempt: int, cap_s: float, rng: random.Random) -> float:
    """Exponential with 'equal jitter': never under half the step, never over the cap."""
    step: float = min(cap_s, _FIRST_DELAY_S * (2 ** min(attempt, 30)))
    return step / 2 + rng.uniform(0, step / 2)

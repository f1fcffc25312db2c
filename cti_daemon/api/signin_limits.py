"""Sign-in attempts limited per login and per address: after `per_login` failures for one login (or
`per_address` from one address) within `window_s`, further attempts are refused until the oldest failure
leaves the window, whatever the password. Counted in this process's memory, bounded in size.

Unknown logins are counted like known ones, so the limit tells nothing about which logins exist.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict, deque
from collections.abc import Callable

MAX_KEYS = 10_000  # distinct logins or addresses remembered; the least recently failed are forgotten first


class _Window:
    def __init__(self, limit: int, window_s: float) -> None:
        self.limit = limit
        self.window_s = window_s
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()

    def retry_after(self, key: str, now: float) -> float | None:
        times = self._failures.get(key)
        if times is None:
            return None
        while times and times[0] <= now - self.window_s:
            times.popleft()
        if not times:
            del self._failures[key]
            return None
        if len(times) < self.limit:
            return None
        return times[0] + self.window_s - now

    def failed(self, key: str, now: float) -> None:
        times = self._failures.pop(key, None) or deque(maxlen=self.limit)
        times.append(now)
        self._failures[key] = times  # the most recent at the end
        while len(self._failures) > MAX_KEYS:
            self._failures.popitem(last=False)

    def forget(self, key: str) -> None:
        self._failures.pop(key, None)


class SignInLimits:
    def __init__(
        self,
        *,
        per_login: int,
        per_address: int,
        window_s: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._logins = _Window(per_login, window_s)
        self._addresses = _Window(per_address, window_s)
        self._clock = clock

    def retry_after(self, login: str, address: str) -> int | None:
        """Whole seconds to wait (at least 1) when this login or address is limited now; None otherwise."""
        now = self._clock()
        waits = [
            w
            for w in (self._logins.retry_after(login, now), self._addresses.retry_after(address, now))
            if w is not None
        ]
        return max(1, math.ceil(max(waits))) if waits else None

    def failed(self, login: str, address: str) -> None:
        now = self._clock()
        self._logins.failed(login, now)
        self._addresses.failed(address, now)

    def succeeded(self, login: str) -> None:
        self._logins.forget(login)

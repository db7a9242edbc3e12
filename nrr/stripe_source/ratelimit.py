"""A request-rate ceiling shared by every extraction thread.

Stripe allows about 100 reads per second in live mode and 25 in test mode, per account, not
per connection: the ceiling must hold across all threads together. Requests are spaced
evenly (one every 1/rate seconds) instead of allowed in bursts, so a ceiling just under
Stripe's limit is never crossed for an instant. A 429 pauses every thread, not just the one
that received it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class RateLimiter:
    """Hands out request slots no closer together than 1/rate seconds, across threads."""

    def __init__(
        self,
        requests_per_second: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if requests_per_second <= 0:
            raise ValueError("requests_per_second must be positive")
        self.interval = 1.0 / requests_per_second
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._next_slot = clock()

    def acquire(self) -> float:
        """Wait for the next free slot; returns the seconds waited."""
        with self._lock:
            now = self._clock()
            slot = max(now, self._next_slot)
            self._next_slot = slot + self.interval
        wait = slot - now
        if wait > 0:
            self._sleep(wait)
        return max(wait, 0.0)

    def pause(self, seconds: float) -> None:
        """Hold every thread back for `seconds` (the server asked us to slow down)."""
        with self._lock:
            self._next_slot = max(self._next_slot, self._clock() + seconds)

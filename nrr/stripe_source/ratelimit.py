"""A request-rate ceiling shared by every extraction thread.

Stripe allows about 100 reads per second in live mode and 25 in test mode, per account, not
per connection: the ceiling must hold across all threads together. It is a token bucket:
tokens accrue at the ceiling's rate up to a small burst (a quarter of a second's worth), so
a slot a busy thread could not use right away is not lost, yet no second ever holds more
than the ceiling plus that small burst. A 429 pauses every thread, not just the one that
received it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

BURST_SECONDS = 0.25
EPSILON = 1e-9


class RateLimiter:
    """At most `requests_per_second` on average, with bursts of `burst_seconds` worth."""

    def __init__(
        self,
        requests_per_second: float,
        *,
        burst_seconds: float = BURST_SECONDS,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if requests_per_second <= 0:
            raise ValueError("requests_per_second must be positive")
        self.rate = float(requests_per_second)
        self.capacity = max(1.0, self.rate * burst_seconds)
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._tokens = 1.0  # start with one request, not a burst: the server's bucket may be low
        self._updated = clock()
        self._paused_until = 0.0

    def acquire(self) -> float:
        """Take one token, waiting for it when needed; returns the seconds waited."""
        waited = 0.0
        while True:
            with self._lock:
                now = self._clock()
                if now >= self._paused_until:
                    self._tokens = min(
                        self.capacity, self._tokens + (now - self._updated) * self.rate
                    )
                    self._updated = now
                    if self._tokens >= 1.0 - EPSILON:  # float sums of waits fall just short
                        self._tokens = max(self._tokens - 1.0, 0.0)
                        return waited
                    wait = (1.0 - self._tokens) / self.rate
                else:
                    wait = self._paused_until - now
            self._sleep(wait)
            waited += wait

    def pause(self, seconds: float) -> None:
        """Hold every thread back for `seconds` (the server asked us to slow down)."""
        with self._lock:
            now = self._clock()
            self._paused_until = max(self._paused_until, now + seconds)
            self._tokens = 0.0
            self._updated = max(self._updated, self._paused_until)

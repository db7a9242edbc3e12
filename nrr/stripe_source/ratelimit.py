"""A request-rate ceiling shared by every extraction thread.

Stripe allows about 100 reads per second in live mode and 25 in test mode, per account, not
per connection: the ceiling must hold across all threads together. It is a token bucket:
tokens accrue at the ceiling's rate up to a small burst (a quarter of a second's worth), so
a slot a busy thread could not use right away is not lost, yet no second ever holds more
than the ceiling plus that small burst. A 429 pauses every thread, not just the one that
received it, and the bucket is shared by the worker processes of a run.
"""

from __future__ import annotations

import multiprocessing
import time
from collections.abc import Callable

BURST_SECONDS = 0.25
EPSILON = 1e-9


class RateLimiter:
    """At most `requests_per_second` on average, with bursts of `burst_seconds` worth.

    Its state lives in shared memory behind a process-shared lock, so worker processes
    forked after it was created (see workers.py) draw from the same bucket as threads do.
    """

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
        self._lock = multiprocessing.Lock()
        # tokens (start with one request, not a burst: the server's bucket may be low),
        # time of the last refill, end of a pause
        self._state = multiprocessing.RawArray("d", [1.0, clock(), 0.0])

    def acquire(self) -> float:
        """Take one token, waiting for it when needed; returns the seconds waited."""
        waited = 0.0
        state = self._state
        while True:
            with self._lock:
                now = self._clock()
                if now >= state[2]:
                    state[0] = min(self.capacity, state[0] + (now - state[1]) * self.rate)
                    state[1] = now
                    if state[0] >= 1.0 - EPSILON:  # float sums of waits fall just short
                        state[0] = max(state[0] - 1.0, 0.0)
                        return waited
                    wait = (1.0 - state[0]) / self.rate
                else:
                    wait = state[2] - now
            self._sleep(wait)
            waited += wait

    def pause(self, seconds: float) -> None:
        """Hold every thread and process back for `seconds` (the server asked us to)."""
        state = self._state
        with self._lock:
            now = self._clock()
            state[2] = max(state[2], now + seconds)
            state[0] = 0.0
            state[1] = max(state[1], state[2])

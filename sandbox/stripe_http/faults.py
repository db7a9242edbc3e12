"""Fault injection: 429, 500, 503, slow responses and dropped connections, on demand.

A `Fault` matches requests by path prefix (all paths when None) and fires by probability
(seeded), on every Nth matching request, or on the next K matching requests. `Faults` is
thread-safe and can be changed while the server runs (`server.faults.add(...)`).
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass, field

KINDS = ("429", "500", "503", "slow", "drop")


@dataclass
class Fault:
    """One rule. kind: '429' | '500' | '503' | 'slow' | 'drop'."""

    kind: str
    probability: float | None = None
    every: int | None = None
    times: int | None = None  # fire on the next `times` matching requests, then retire
    path: str | None = None  # prefix such as '/v1/invoices'; None = every path
    delay: float = 1.0  # seconds, for 'slow' (the response still comes, late)
    retry_after: int = 1  # seconds, for '429'
    should_retry: bool | None = None  # Stripe-Should-Retry header; None = Stripe's default
    seen: int = field(default=0, init=False)
    fired: int = field(default=0, init=False)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; use one of {KINDS}")
        if sum(x is not None for x in (self.probability, self.every, self.times)) != 1:
            raise ValueError("a fault needs exactly one of probability, every, times")

    def matches(self, path: str) -> bool:
        return self.path is None or path.startswith(self.path)


class Faults:
    """The active fault rules of a server."""

    def __init__(self, rules: list[Fault] | tuple[Fault, ...] = (), *, seed: int = 0) -> None:
        self._rules = list(rules)
        self._rng = random.Random(seed)
        self._lock = threading.Lock()

    def add(self, fault: Fault) -> Fault:
        with self._lock:
            self._rules.append(fault)
        return fault

    def fail_next(
        self, times: int, kind: str = "500", path: str | None = None, **options: object
    ) -> Fault:
        """Shortcut: the next `times` requests to `path` get `kind`."""
        return self.add(Fault(kind=kind, times=times, path=path, **options))

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()

    @property
    def rules(self) -> list[Fault]:
        with self._lock:
            return list(self._rules)

    def pick(self, path: str) -> Fault | None:
        """The fault this request gets, if any (the first rule that fires)."""
        with self._lock:
            chosen = None
            for rule in list(self._rules):
                if not rule.matches(path):
                    continue
                rule.seen += 1
                if chosen is not None:
                    continue
                if rule.times is not None:
                    fire = rule.fired < rule.times
                elif rule.every is not None:
                    fire = rule.seen % rule.every == 0
                else:
                    fire = self._rng.random() < rule.probability
                if fire:
                    rule.fired += 1
                    chosen = rule
                    if rule.times is not None and rule.fired >= rule.times:
                        self._rules.remove(rule)
            return chosen


class RateLimiter:
    """A token bucket: at most `rate` requests per second (bursts up to one second's worth)."""

    def __init__(self, rate: float, clock) -> None:
        self.rate = float(rate)
        self._clock = clock
        self._tokens = float(rate)
        self._last = clock()
        self._lock = threading.Lock()

    def allow(self) -> bool:
        with self._lock:
            now = self._clock()
            self._tokens = min(self.rate, self._tokens + (now - self._last) * self.rate)
            self._last = now
            if self._tokens >= 1.0:
                self._tokens -= 1.0
                return True
            return False

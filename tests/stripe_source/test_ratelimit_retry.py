"""The shared rate ceiling and the retry policy (what is retried, how long it waits)."""

from __future__ import annotations

import stripe

from nrr.stripe_source.ratelimit import RateLimiter
from nrr.stripe_source.retry import is_retryable, retry_after_seconds, retrying


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_requests_are_spaced_evenly_at_the_ceiling():
    clock = FakeClock()
    limiter = RateLimiter(4, clock=clock, sleep=clock.sleep)
    for _ in range(9):
        limiter.acquire()
    assert clock.now == 102.0  # 9 requests at 4/s: the 9th starts 2 s after the 1st
    assert all(abs(s - 0.25) < 1e-9 for s in clock.slept)


def test_an_unused_slot_is_kept_for_a_moment_but_no_second_exceeds_the_ceiling_by_more():
    clock = FakeClock()
    limiter = RateLimiter(100, clock=clock, sleep=clock.sleep)
    clock.now += 5  # idle: only a quarter second's worth of requests is saved up
    starts = []
    for _ in range(300):
        limiter.acquire()
        starts.append(clock.now)
    assert starts[24] == starts[0]  # 25 at once after the pause...
    assert starts[25] > starts[0]
    for first in starts:  # ...and never more than 100 + 25 within any second
        assert sum(first <= t < first + 1 for t in starts) <= 125
    assert abs((starts[-1] - starts[25]) - 274 / 100) < 1e-6  # then exactly the ceiling


def test_a_pause_holds_every_caller_back():
    clock = FakeClock()
    limiter = RateLimiter(100, clock=clock, sleep=clock.sleep)
    limiter.acquire()
    limiter.pause(3)
    limiter.acquire()
    assert clock.now >= 103.0


def error(cls, status, headers=None, **kwargs):
    return cls("boom", http_status=status, headers=headers or {}, **kwargs)


def test_what_is_retried():
    assert is_retryable(error(stripe.RateLimitError, 429))
    assert is_retryable(error(stripe.APIError, 500))
    assert is_retryable(error(stripe.APIError, 503))
    assert is_retryable(error(stripe.InvalidRequestError, 409, param=None))
    assert is_retryable(stripe.APIConnectionError("reset", should_retry=True))
    assert not is_retryable(error(stripe.AuthenticationError, 401))
    assert not is_retryable(error(stripe.PermissionError, 403))
    assert not is_retryable(error(stripe.InvalidRequestError, 404, param=None))
    assert not is_retryable(ValueError("not a Stripe error"))


def test_stripe_should_retry_overrides_the_status():
    no = {"Stripe-Should-Retry": "false"}
    yes = {"stripe-should-retry": "true"}
    assert not is_retryable(error(stripe.APIError, 500, no))
    assert is_retryable(error(stripe.InvalidRequestError, 400, yes, param=None))


def test_retry_after_is_read_and_capped():
    assert retry_after_seconds(error(stripe.RateLimitError, 429, {"Retry-After": "2"})) == 2.0
    assert retry_after_seconds(error(stripe.RateLimitError, 429, {"retry-after": "9999"})) == 120
    assert retry_after_seconds(error(stripe.RateLimitError, 429, {"Retry-After": "soon"})) is None


def test_a_429_waits_what_the_server_said_and_pauses_every_thread():
    clock = FakeClock()
    limiter = RateLimiter(10, clock=clock, sleep=clock.sleep)
    waits: list[float] = []
    attempts = []

    def flaky():
        attempts.append(1)
        if len(attempts) < 3:
            raise error(stripe.RateLimitError, 429, {"Retry-After": "2"})
        return "ok"

    policy = retrying(5, limiter, sleep=waits.append)
    assert policy(flaky) == "ok"
    assert waits == [2.0, 2.0]
    limiter.acquire()
    assert clock.now >= 102.0  # the limiter was paused for everyone


def test_backoff_grows_and_gives_up_after_max_retries():
    waits: list[float] = []

    def down():
        raise error(stripe.APIError, 503)

    policy = retrying(3, None, initial_wait=1.0, max_wait=30.0, sleep=waits.append)
    try:
        policy(down)
    except stripe.APIError:
        pass
    else:  # pragma: no cover
        raise AssertionError("should have given up")
    assert len(waits) == 3
    assert waits[0] < waits[2] and waits[2] <= 30.0 + 1.0

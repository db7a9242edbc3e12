"""When and how long to retry a Stripe request.

The `stripe` package retries nothing unless `max_network_retries` is set, and even then it
never retries a plain 429 and ignores `Retry-After`. So the client is built with no retries
of its own and every request goes through `retrying()`: 429, 409, 5xx, timeouts and dropped
connections are retried with exponential backoff and jitter, a `Retry-After` header sets the
wait (and pauses every thread through the shared rate limiter), and `Stripe-Should-Retry`
overrides the status-based decision either way.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping

import stripe
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential_jitter,
)

from nrr.stripe_source.ratelimit import RateLimiter

log = logging.getLogger("nrr.stripe")

MAX_RETRY_AFTER_SECONDS = 120.0


def header(headers: Mapping[str, str] | None, name: str) -> str | None:
    """Case-insensitive header lookup (the error's headers may be a plain dict)."""
    if not headers:
        return None
    wanted = name.lower()
    for key, value in headers.items():
        if key.lower() == wanted:
            return value
    return None


def retry_after_seconds(exc: BaseException) -> float | None:
    """The server's `Retry-After` in seconds, when it sent a usable one."""
    value = header(getattr(exc, "headers", None), "retry-after")
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None
    return min(max(seconds, 0.0), MAX_RETRY_AFTER_SECONDS)


def is_retryable(exc: BaseException) -> bool:
    """429, 409, 5xx, timeouts and dropped connections, unless Stripe says not to retry."""
    if not isinstance(exc, stripe.StripeError):
        return False
    advice = header(exc.headers, "stripe-should-retry")
    if advice == "false":
        return False
    if advice == "true":
        return True
    if isinstance(exc, stripe.APIConnectionError):
        return exc.should_retry
    if isinstance(exc, stripe.RateLimitError):
        return True
    status = exc.http_status or 0
    return status == 409 or status >= 500


def describe(exc: BaseException) -> str:
    status = getattr(exc, "http_status", None)
    kind = type(exc).__name__
    return f"{kind} (HTTP {status})" if status else kind


def retrying(
    max_retries: int,
    limiter: RateLimiter | None = None,
    *,
    initial_wait: float = 0.5,
    max_wait: float = 30.0,
    sleep: Callable[[float], None] = time.sleep,
) -> Retrying:
    """A tenacity policy for one request: up to `max_retries` retries after the first try."""
    backoff = wait_exponential_jitter(initial=initial_wait, max=max_wait, jitter=initial_wait)

    def wait(state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        server_wait = retry_after_seconds(exc) if exc is not None else None
        if server_wait is None:
            return backoff(state)
        if limiter is not None:
            limiter.pause(server_wait)
        return server_wait

    def before_sleep(state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        log.warning(
            "Stripe request failed with %s; retry %d/%d in %.1fs",
            describe(exc) if exc else "an error",
            state.attempt_number,
            max_retries,
            state.next_action.sleep if state.next_action else 0.0,
        )

    return Retrying(
        stop=stop_after_attempt(max_retries + 1),
        wait=wait,
        retry=retry_if_exception(is_retryable),
        before_sleep=before_sleep,
        reraise=True,
        sleep=sleep,
    )

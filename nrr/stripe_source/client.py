"""The one door to Stripe: the official client, the rate ceiling, retries, clear errors.

Every request goes through `StripeApi.call`: it waits for a slot of the shared rate
limiter, counts the request, retries what is worth retrying (see retry.py) and turns what is
not into one `NrrError` sentence saying what to fix. Pages are returned as the JSON Stripe
sent (`last_response.data`), not as StripeObjects, because they go to the lake as they are.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import stripe

from nrr.errors import NrrError
from nrr.settings import Settings
from nrr.stripe_source.ratelimit import RateLimiter
from nrr.stripe_source.retry import describe, retrying

API_VERSION = stripe.api_version  # the version the installed package pins and sends

# The restricted key's permission for each thing read (Dashboard > API keys > restricted key).
SCOPES = {
    "customers": "Customers: Read (rak_customer_read)",
    "products": "Products: Read (rak_product_read)",
    "prices": "Prices: Read (rak_price_read)",
    "coupons": "Coupons: Read (rak_coupon_read)",
    "subscriptions": "Subscriptions: Read (rak_subscription_read)",
    "subscription_items": "Subscriptions: Read (rak_subscription_read)",
    "invoices": "Invoices: Read (rak_invoice_read)",
    "invoice_lines": "Invoices: Read (rak_invoice_read)",
    "credit_notes": "Credit notes: Read (rak_credit_note_read)",
    "credit_note_lines": "Credit notes: Read (rak_credit_note_read)",
    "events": "Events: Read (rak_event_read)",
}


def network_reason(exc: BaseException) -> str:
    """The innermost cause of a network failure in a few words ('Connection refused')."""
    inner: BaseException = exc
    while inner.__cause__ is not None or inner.__context__ is not None:
        inner = inner.__cause__ or inner.__context__  # type: ignore[assignment]
    text = " ".join(str(inner).split()) or type(inner).__name__
    if "] " in text and text.startswith("[Errno"):
        text = text.split("] ", 1)[1]
    return text[:120]


def _quote(object_id: str) -> str:
    return quote(object_id, safe="")


class StripeAccessError(NrrError):
    """Stripe could not be read: bad key, missing permission, unreachable, refusing."""


class StripeApi:
    """Counts, paces and retries every request made with one `stripe.StripeClient`."""

    # backoff of retries without Retry-After: ~0.5 s, 1 s, 2 s... up to 30 s, plus jitter
    initial_wait = 0.5
    max_wait = 30.0

    def __init__(self, settings: Settings, *, limiter: RateLimiter | None = None) -> None:
        if settings.stripe_api_key is None or not settings.stripe_api_key.get_secret_value():
            raise StripeAccessError(
                "no Stripe API key: set STRIPE_API_KEY to a restricted read-only key "
                "(see docs/stripe.md for the permissions it needs)"
            )
        self.base = settings.stripe_api_base or stripe.DEFAULT_API_BASE
        self.client = stripe.StripeClient(
            settings.stripe_api_key.get_secret_value(),
            base_addresses={"api": self.base},
            max_network_retries=0,  # retried here, where Retry-After is honoured
            http_client=stripe.RequestsClient(timeout=settings.stripe_timeout_seconds),
        )
        self.limiter = limiter or RateLimiter(settings.stripe_max_requests_per_second)
        self.max_retries = settings.stripe_max_retries
        self._lock = threading.Lock()
        self.requests = 0
        self.retries = 0
        self.first_request_at: float | None = None  # time.monotonic()
        self.last_response_at: float | None = None

    def call(self, what: str, fn: Callable[[], Any]) -> Any:
        """Run one request (`what` names the dataset for error messages)."""
        attempts = 0

        def attempt() -> Any:
            nonlocal attempts
            attempts += 1
            self.limiter.acquire()
            with self._lock:
                self.requests += 1
                if attempts > 1:
                    self.retries += 1
                if self.first_request_at is None:
                    self.first_request_at = time.monotonic()
            try:
                return fn()
            finally:
                self.last_response_at = time.monotonic()

        policy = retrying(
            self.max_retries, self.limiter, initial_wait=self.initial_wait, max_wait=self.max_wait
        )
        try:
            return policy(attempt)
        except stripe.StripeError as exc:
            raise self._explain(exc, what, attempts) from exc

    def absorb(self, requests: int, retries: int, first: float | None, last: float | None) -> None:
        """Add the counts of requests another process made for this run."""
        with self._lock:
            self.requests += requests
            self.retries += retries
            if first is not None:
                earliest = self.first_request_at
                self.first_request_at = first if earliest is None else min(earliest, first)
            if last is not None:
                latest = self.last_response_at
                self.last_response_at = last if latest is None else max(latest, last)

    @property
    def request_seconds(self) -> float:
        """From the first request to the last response: the time spent talking to Stripe."""
        if self.first_request_at is None or self.last_response_at is None:
            return 0.0
        return self.last_response_at - self.first_request_at

    def _explain(self, exc: stripe.StripeError, what: str, attempts: int) -> StripeAccessError:
        message = (exc.user_message or str(exc) or "").strip().rstrip(".")
        if isinstance(exc, stripe.AuthenticationError):
            return StripeAccessError(
                f"Stripe rejected the API key in STRIPE_API_KEY (HTTP 401: {message})"
            )
        if isinstance(exc, stripe.PermissionError):
            scope = SCOPES.get(what, what)
            return StripeAccessError(
                f"the Stripe key may not read {what} (HTTP 403): give the restricted key "
                f"the permission '{scope}' (see docs/stripe.md)"
            )
        if isinstance(exc, stripe.APIConnectionError):
            return StripeAccessError(
                f"cannot reach the Stripe API at {self.base} ({attempts} attempts, "
                f"last error: {network_reason(exc)})"
            )
        if isinstance(exc, stripe.RateLimitError):
            return StripeAccessError(
                f"Stripe kept answering 429 Too Many Requests while reading {what} after "
                f"{attempts} attempts: lower NRR_STRIPE_MAX_RPS"
            )
        status = exc.http_status
        return StripeAccessError(
            f"Stripe answered HTTP {status} while reading {what} after {attempts} attempt(s): "
            f"{message or describe(exc)}"
        )

    # --- endpoints ------------------------------------------------------------------------
    # `raw_request` (the package's documented way to make a custom request) returns the
    # response with its parsed JSON and skips building StripeObjects, which costs ~10x the
    # parsing for a page of invoices: the lake wants the JSON anyway.
    def get(self, what: str, path: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        """`GET path` (e.g. /v1/invoices) with the API version pinned by the package."""
        response = self.call(what, lambda: self.client.raw_request("get", path, **(params or {})))
        return response.data

    def list_page(self, service: str, params: dict[str, Any]) -> dict[str, Any]:
        """One page of `GET /v1/<service>` as the JSON Stripe sent."""
        return self.get(service, f"/v1/{service}", params)

    def list_invoice_lines(self, invoice_id: str, params: dict[str, Any]) -> dict[str, Any]:
        return self.get("invoice_lines", f"/v1/invoices/{_quote(invoice_id)}/lines", params)

    def list_credit_note_lines(self, credit_note_id: str, params: dict[str, Any]) -> dict:
        path = f"/v1/credit_notes/{_quote(credit_note_id)}/lines"
        return self.get("credit_note_lines", path, params)

    def list_subscription_items(self, subscription_id: str, params: dict[str, Any]) -> dict:
        query = {**params, "subscription": subscription_id}
        return self.get("subscription_items", "/v1/subscription_items", query)

    def list_events(self, params: dict[str, Any]) -> dict[str, Any]:
        return self.get("events", "/v1/events", params)

    def retrieve(self, service: str, object_id: str, params: dict[str, Any] | None = None) -> dict:
        return self.get(service, f"/v1/{service}/{_quote(object_id)}", params)

    def event_exists(self, event_id: str) -> bool:
        """Whether Stripe still keeps this event (it keeps events for 30 days)."""
        try:
            self.retrieve("events", event_id)
        except StripeAccessError as exc:
            cause = exc.__cause__
            if isinstance(cause, stripe.InvalidRequestError) and cause.http_status == 404:
                return False
            raise
        return True

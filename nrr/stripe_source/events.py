"""Incremental sync of mutable objects through the Events API.

Stripe keeps events for 30 days. A run reads every event since the previous run's newest
event (inclusive: re-reading is harmless), keeps only the newest event per object, and
records that object's state from the event's payload — no request per changed object.
Two cases need a request after all: a payload rendered in another API version than the one
pinned here (Stripe renders each event in the version current when it was created) is
re-read with `retrieve`, and lists a payload embeds only partly (invoice lines,
subscription items) are completed page by page.

The caller checks first that the previous newest event still exists: if Stripe no longer
has it, events were lost in the gap and the run falls back to a full re-sync.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from nrr.stripe_source.client import API_VERSION, StripeAccessError, StripeApi
from nrr.stripe_source.datasets import BY_OBJECT, CUSTOMERS, DISCOUNTS, EVENTS, PRICES
from nrr.stripe_source.fetch import Batch, Observer
from nrr.stripe_source.lake import FETCHED_VERSION
from nrr.stripe_source.pagination import created_range, iter_pages
from nrr.stripe_source.references import PRICE_EXPAND

# `types` takes at most 20 names, hence two groups. Every state change of the objects the
# metrics read emits one of these.
BILLING_EVENTS = (
    "customer.created",
    "customer.updated",
    "customer.deleted",
    "customer.subscription.created",
    "customer.subscription.updated",
    "customer.subscription.deleted",
    "customer.subscription.paused",
    "customer.subscription.resumed",
    "customer.subscription.pending_update_applied",
    "customer.subscription.pending_update_expired",
    "invoice.created",
    "invoice.updated",
    "invoice.deleted",
    "invoice.finalized",
    "invoice.paid",
    "invoice.payment_failed",
    "invoice.voided",
    "invoice.marked_uncollectible",
    "credit_note.created",
    "credit_note.updated",
)
CATALOG_EVENTS = (
    "credit_note.voided",
    "product.created",
    "product.updated",
    "product.deleted",
    "price.created",
    "price.updated",
    "price.deleted",
    "coupon.created",
    "coupon.updated",
    "coupon.deleted",
    "customer.discount.created",
    "customer.discount.updated",
    "customer.discount.deleted",
)
EVENT_GROUPS = (BILLING_EVENTS, CATALOG_EVENTS)

# Events after which the object no longer exists in Stripe (a canceled subscription still
# exists: `customer.subscription.deleted` is not one of them).
DELETIONS = frozenset(
    {
        "customer.deleted",
        "product.deleted",
        "price.deleted",
        "coupon.deleted",
        "invoice.deleted",
        "customer.discount.deleted",
    }
)
# A re-read subscription expands its discounts, as the full listing does. An invoice does
# not: its `discounts` keep naming discounts deleted since (a `once` coupon is deleted by
# the invoice that spends it), and an expanded copy would undo the deletion its event told.
RETRIEVE_EXPAND = {"subscriptions": ["discounts"]}


@dataclass(frozen=True)
class EventsRead:
    """The events since the cursor, newest first, and the cursor for the next run."""

    events: list[dict[str, Any]]
    newest_created: int | None
    newest_id: str | None


def read_events(api: StripeApi, since: int | None) -> EventsRead:
    """Every event of the watched types created at or after `since` (all kept ones if None)."""
    events: list[dict[str, Any]] = []
    for group in EVENT_GROUPS:
        params = {"types": list(group), **created_range(gte=since)}
        for page in iter_pages(api.list_events, params):
            events.extend(page.objects)
    # newest first; ties keep Stripe's order within a group (stable sort)
    events.sort(key=lambda event: -int(event.get("created") or 0))
    newest = events[0] if events else None
    return EventsRead(
        events,
        int(newest["created"]) if newest else None,
        newest["id"] if newest else None,
    )


def newest_event(api: StripeApi) -> tuple[int | None, str | None]:
    """The newest event of the account right now: where the next incremental run starts."""
    page = api.list_events({"limit": 1})
    data = page.get("data") or []
    return (int(data[0]["created"]), data[0]["id"]) if data else (None, None)


def latest_per_object(events: Iterable[Mapping[str, Any]]) -> list[tuple[Mapping[str, Any], int]]:
    """The newest event of each object, with its rank (higher = newer) among all events."""
    events = list(events)
    seen: set[tuple[str, str]] = set()
    latest = []
    for index, event in enumerate(events):
        payload = (event.get("data") or {}).get("object") or {}
        key = (payload.get("object"), payload.get("id"))
        if None in key or key in seen:
            continue
        seen.add(key)
        latest.append((event, len(events) - index))
    return latest


def current_discount(payload: Mapping[str, Any]) -> dict[str, Any]:
    """A discount rendered in an API version before 2025-09-30.clover, in today's shape.

    Older versions embed the coupon (`coupon: {...}`) where the pinned one names it in
    `source: {"coupon": id, "type": "coupon"}`; nothing else the metrics read differs.
    """
    body = dict(payload)
    if "source" not in body and "coupon" in body:
        coupon = body.pop("coupon")
        coupon_id = coupon.get("id") if isinstance(coupon, Mapping) else coupon
        body["source"] = {"coupon": coupon_id, "type": "coupon"}
    return body


def _current_state(api: StripeApi, event: Mapping[str, Any]) -> tuple[dict[str, Any] | None, bool]:
    """The object as the event left it, in the pinned API version's shape.

    The flag says whether it was re-read from the API (then it is newer than any event).
    """
    payload = dict(event["data"]["object"])
    dataset = BY_OBJECT.get(payload.get("object"))
    if dataset is None:
        return None, False
    deleted = event.get("type") in DELETIONS
    # a price's tiers and currency_options are includable: never in an event's payload
    needs_includable = dataset is PRICES and not {"tiers", "currency_options"} <= set(payload)
    stale_shape = event.get("api_version") not in (None, API_VERSION)
    if stale_shape and dataset is DISCOUNTS:
        # no endpoint to re-read a discount from: its older shape is brought to the pinned one
        payload = current_discount(payload)
        if deleted:
            payload["deleted"] = True
        return payload, False
    if (stale_shape or needs_includable) and not deleted:
        if dataset.service is None:
            return None, False
        expand = PRICE_EXPAND if dataset is PRICES else RETRIEVE_EXPAND.get(dataset.name)
        params = {"expand": expand} if expand else {}
        try:
            return api.retrieve(dataset.service, payload["id"], params), True
        except StripeAccessError as exc:
            if getattr(exc.__cause__, "http_status", None) != 404:
                raise
            return {"id": payload["id"], "object": payload.get("object"), "deleted": True}, True
    if deleted:
        payload["deleted"] = True
    return payload, False


def apply_events(observer: Observer, read: EventsRead) -> Batch:
    """Rows for the events themselves and for each changed object's newest state."""
    batch = Batch()
    for event in read.events:
        batch.add(EVENTS.name, "list", event, FETCHED_VERSION)
    for event, rank in latest_per_object(read.events):
        state, refetched = _current_state(observer.api, event)
        if state is None:
            continue
        dataset = BY_OBJECT[event["data"]["object"]["object"]]
        if refetched:
            observer.observe(batch, dataset, state, source="retrieve")
        else:
            observer.observe(batch, dataset, state, source="event", version=rank)
    return batch


def deleted_customers(observer: Observer) -> Batch:
    """Customers deleted within the events' retention, as their deletion event shows them."""
    batch = Batch()
    read = list(iter_pages(observer.api.list_events, {"types": ["customer.deleted"]}))
    events = [event for page in read for event in page.objects]
    for event, rank in latest_per_object(events):
        payload = {**event["data"]["object"], "deleted": True}
        observer.observe(batch, CUSTOMERS, payload, source="event", version=rank)
    return batch

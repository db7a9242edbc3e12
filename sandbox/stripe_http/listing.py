"""List endpoints: which records each serves, its filters, and cursor pagination.

Records are kept sorted by (created, id) with lazily built per-filter indexes, so a page
is a binary search plus a short walk whatever the account's size. Pages are newest first,
as Stripe's lists are; `starting_after` walks older, `ending_before` walks newer.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any

from nrr.sandbox.stripe_account.account import Account
from nrr.sandbox.stripe_http.errors import ApiError, bad_param, missing

Predicate = Callable[[Any, Any], bool]


def _bool(value: str, param: str) -> bool:
    if value not in ("true", "false"):
        raise bad_param(param, f"Invalid boolean: {value}")
    return value == "true"


def _status_filter(record: Any, value: Any) -> bool:
    if value is None:  # Stripe's default: every subscription that is not canceled
        return record.status != "canceled"
    if value == "all":
        return True
    if value == "ended":
        return record.status in ("canceled", "incomplete_expired")
    return record.status == value


def _event_type(record: Any, value: Any) -> bool:
    if value.endswith(".*"):
        return record.type.startswith(value[:-1])
    return record.type == value


@dataclass
class Resource:
    """One listable object type."""

    name: str  # URL segment: customers
    object_name: str  # for "No such customer" errors
    permission: str  # the restricted-key permission that reads it
    records: Callable[[Account], list[Any]]
    listed: Callable[[Any], bool] = lambda record: True
    filters: dict[str, Predicate] = field(default_factory=dict)
    indexed: dict[str, Callable[[Any], Hashable]] = field(default_factory=dict)
    list_filters: dict[str, Predicate] = field(default_factory=dict)  # array params (types[])
    defaults: dict[str, Any] = field(default_factory=dict)  # filter applied when absent


SUBSCRIPTION_STATUSES = {
    "active",
    "all",
    "canceled",
    "ended",
    "incomplete",
    "incomplete_expired",
    "past_due",
    "paused",
    "trialing",
    "unpaid",
}
INVOICE_STATUSES = {"draft", "open", "paid", "uncollectible", "void"}

RESOURCES = {
    r.name: r
    for r in (
        Resource(
            "customers",
            "customer",
            "rak_customer_read",
            lambda a: a.customers,
            listed=lambda c: not c.deleted,
            filters={"email": lambda c, v: c.email == v},
        ),
        Resource(
            "products",
            "product",
            "rak_product_read",
            lambda a: a.products,
            filters={"active": lambda p, v: p.active == _bool(v, "active")},
        ),
        Resource(
            "prices",
            "price",
            "rak_price_read",
            lambda a: a.prices,
            # Stripe: "Returns a list of your active prices, excluding inline prices"
            listed=lambda p: not p.inline,
            defaults={"active": "true"},
            filters={
                "active": lambda p, v: p.active == _bool(v, "active"),
                "currency": lambda p, v: p.currency == v,
                "type": lambda p, v: p.type == v,
            },
            indexed={"product": lambda p: p.product},
            list_filters={"lookup_keys": lambda p, v: p.lookup_key in v},
        ),
        Resource("coupons", "coupon", "rak_coupon_read", lambda a: a.coupons),
        Resource(
            "tax_rates",
            "tax_rate",
            "rak_tax_rate_read",
            lambda a: a.tax_rates,
            filters={
                "active": lambda t, v: _bool(v, "active"),
                "inclusive": lambda t, v: t.inclusive == _bool(v, "inclusive"),
            },
        ),
        Resource(
            "subscriptions",
            "subscription",
            "rak_subscription_read",
            lambda a: a.subscriptions,
            filters={
                "status": _status_filter,
                "collection_method": lambda s, v: v == "charge_automatically",
                "price": lambda s, v: any(i.price.id == v for i in s.items),
            },
            indexed={"customer": lambda s: s.customer},
            defaults={"status": None},
        ),
        Resource(
            "invoices",
            "invoice",
            "rak_invoice_read",
            lambda a: a.invoices,
            filters={"collection_method": lambda i, v: i.collection_method == v},
            indexed={
                "customer": lambda i: i.customer.id,
                "status": lambda i: i.status,
                "subscription": lambda i: i.subscription,
            },
        ),
        Resource(
            "credit_notes",
            "credit note",
            "rak_credit_note_read",
            lambda a: a.credit_notes,
            indexed={"customer": lambda c: c.customer, "invoice": lambda c: c.invoice},
        ),
        Resource(
            "events",
            "event",
            "rak_event_read",
            lambda a: a.events,
            filters={"type": _event_type, "delivery_success": lambda e, v: True},
            list_filters={"types": lambda e, v: any(_event_type(e, t) for t in v)},
        ),
    )
}


def sort_key(record: Any) -> tuple[int, Any]:
    seq = getattr(record, "seq", None)
    return (record.created, seq if seq is not None else record.id)


class Listing:
    """Sorted views of one resource for one account version."""

    def __init__(self, resource: Resource, records: list[Any]) -> None:
        self.resource = resource
        self.records = sorted((r for r in records if resource.listed(r)), key=sort_key)
        self.keys = [sort_key(r) for r in self.records]
        self.position = {r.id: k for k, r in enumerate(self.records)}
        self._indexes: dict[str, dict[Hashable, tuple[list[Any], list[Any]]]] = {}

    def index(self, param: str) -> dict[Hashable, tuple[list[Any], list[Any]]]:
        built = self._indexes.get(param)
        if built is None:
            key_of = self.resource.indexed[param]
            built = {}
            for record, key in zip(self.records, self.keys, strict=True):
                bucket = built.setdefault(key_of(record), ([], []))
                bucket[0].append(record)
                bucket[1].append(key)
            self._indexes[param] = built
        return built


def page(listing: Listing, params: dict[str, Any], limit: int) -> tuple[list[Any], bool]:
    """The records of one list page (newest first) and whether more exist beyond it."""
    resource = listing.resource
    records, keys = listing.records, listing.keys
    checks: list[tuple[Predicate, Any]] = []
    for param, value in params.items():
        if param in resource.indexed:
            records, keys = listing.index(param).get(value, ([], []))
        elif param in resource.filters:
            checks.append((resource.filters[param], value))
        elif param in resource.list_filters:
            checks.append((resource.list_filters[param], value))
    for param, default in resource.defaults.items():
        if param not in params:
            checks.append((resource.filters[param], default))
    lo, hi = _created_range(keys, params.get("created"))
    after, before = params.get("starting_after"), params.get("ending_before")
    if after is not None and before is not None:
        raise bad_param(
            "starting_after",
            "You may only specify one of these parameters: ending_before, starting_after.",
        )
    if after is not None:
        hi = min(hi, bisect.bisect_left(keys, _anchor(listing, after, "starting_after")))
    if before is not None:
        lo = max(lo, bisect.bisect_right(keys, _anchor(listing, before, "ending_before")))
    found: list[Any] = []
    if before is not None:  # walk newer from the anchor, then show newest first
        for k in range(lo, hi):
            record = records[k]
            if all(check(record, value) for check, value in checks):
                found.append(record)
                if len(found) > limit:
                    break
        has_more = len(found) > limit
        return list(reversed(found[:limit])), has_more
    for k in range(hi - 1, lo - 1, -1):
        record = records[k]
        if all(check(record, value) for check, value in checks):
            found.append(record)
            if len(found) > limit:
                break
    return found[:limit], len(found) > limit


def _anchor(listing: Listing, object_id: str, param: str) -> tuple[int, Any]:
    position = listing.position.get(object_id)
    if position is None:
        raise missing(listing.resource.object_name, object_id, param)
    return listing.keys[position]


def _created_range(keys: list[tuple[int, Any]], created: Any) -> tuple[int, int]:
    lo, hi = 0, len(keys)
    if created is None:
        return lo, hi
    if isinstance(created, str):
        created = {"eq": created}
    for op, raw in created.items():
        try:
            value = int(raw)
        except ValueError:
            raise bad_param(f"created[{op}]", f"Invalid integer: {raw}") from None
        if op == "gte":
            lo = max(lo, bisect.bisect_left(keys, (value,)))
        elif op == "gt":
            lo = max(lo, bisect.bisect_left(keys, (value + 1,)))
        elif op == "lte":
            hi = min(hi, bisect.bisect_left(keys, (value + 1,)))
        elif op == "lt":
            hi = min(hi, bisect.bisect_left(keys, (value,)))
        elif op == "eq":
            lo = max(lo, bisect.bisect_left(keys, (value,)))
            hi = min(hi, bisect.bisect_left(keys, (value + 1,)))
        else:
            raise ApiError(
                400,
                f"Received unknown parameter: created[{op}]",
                code="parameter_unknown",
                param=f"created[{op}]",
            )
    return lo, max(lo, hi)

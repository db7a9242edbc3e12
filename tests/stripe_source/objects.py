"""Hand-written Stripe objects in the pinned API version's shapes, for ledger tests.

Only the fields the derivation reads are filled; everything else Stripe sends is left out,
which is also a check that the derivation needs nothing more.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from typing import Any

_ids = itertools.count(1)


def ts(text: str) -> int:
    """'2025-01-31' or '2025-01-31T23:30' (UTC) -> Unix seconds."""
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp())


def new_id(prefix: str) -> str:
    return f"{prefix}_{next(_ids):06d}"


def product(name: str, pid: str | None = None) -> dict[str, Any]:
    return {"id": pid or new_id("prod"), "object": "product", "name": name, "created": 1}


def price(
    prod: dict[str, Any],
    unit_amount: int | None = 10_000,
    *,
    interval: str | None = "month",
    count: int = 1,
    currency: str = "usd",
    usage_type: str = "licensed",
    nickname: str | None = None,
    tiers: list[dict[str, Any]] | None = None,
    tiers_mode: str | None = None,
) -> dict[str, Any]:
    recurring = None
    if interval is not None:
        recurring = {"interval": interval, "interval_count": count, "usage_type": usage_type}
    return {
        "id": new_id("price"),
        "object": "price",
        "created": 1,
        "product": prod["id"],
        "currency": currency,
        "unit_amount": unit_amount,
        "unit_amount_decimal": None if unit_amount is None else str(unit_amount),
        "billing_scheme": "tiered" if tiers else "per_unit",
        "tiers": tiers,
        "tiers_mode": tiers_mode,
        "recurring": recurring,
        "type": "recurring" if recurring else "one_time",
        "nickname": nickname,
    }


def customer(
    cid: str | None = None, *, country: str | None = "US", **metadata: str
) -> dict[str, Any]:
    return {
        "id": cid or new_id("cus"),
        "object": "customer",
        "created": 1,
        "address": {"country": country} if country else None,
        "metadata": metadata,
    }


def subscription(
    cust: dict[str, Any],
    prices: list[tuple[dict[str, Any], int | None]],
    *,
    status: str = "active",
    ended_at: int | None = None,
    cancel_at: int | None = None,
    cancel_at_period_end: bool = False,
    reason: str | None = None,
    discounts: list[str] | None = None,
    tax_rates: list[dict[str, Any]] | None = None,
    sid: str | None = None,
) -> dict[str, Any]:
    sid = sid or new_id("sub")
    items = [
        {"id": new_id("si"), "object": "subscription_item", "price": p, "quantity": q}
        for p, q in prices
    ]
    return {
        "id": sid,
        "object": "subscription",
        "created": 1,
        "customer": cust["id"],
        "status": status,
        "ended_at": ended_at,
        "canceled_at": ended_at,
        "cancel_at": cancel_at,
        "cancel_at_period_end": cancel_at_period_end,
        "cancellation_details": {"reason": reason} if reason else None,
        "discounts": discounts or [],
        "default_tax_rates": tax_rates or [],
        "items": {"object": "list", "data": items, "has_more": False},
    }


def line(
    sub: dict[str, Any] | None,
    pr: dict[str, Any],
    start: int,
    end: int,
    *,
    amount: int | None = None,
    quantity: int | None = 1,
    discount: int = 0,
    tax: int = 0,
    tax_behavior: str = "exclusive",
    proration: bool = False,
) -> dict[str, Any]:
    if amount is None:
        amount = (pr["unit_amount"] or 0) * (quantity or 1)
    if sub is not None and pr.get("recurring"):
        parent = {
            "type": "subscription_item_details",
            "subscription_item_details": {
                "subscription": sub["id"],
                "subscription_item": new_id("si"),
                "proration": proration,
            },
        }
    else:
        parent = {
            "type": "invoice_item_details",
            "invoice_item_details": {
                "invoice_item": new_id("ii"),
                "proration": proration,
                "subscription": sub["id"] if sub else None,
            },
        }
    return {
        "id": new_id("il"),
        "object": "line_item",
        "amount": amount,
        "currency": pr["currency"],
        "discount_amounts": [{"amount": discount, "discount": "di_x"}] if discount else [],
        "taxes": [{"amount": tax, "tax_behavior": tax_behavior}] if tax else [],
        "parent": parent,
        "period": {"start": start, "end": end},
        "pricing": {
            "type": "price_details",
            "price_details": {"price": pr["id"], "product": pr["product"]},
        },
        "quantity": quantity,
    }


def invoice(
    cust: dict[str, Any],
    lines: list[dict[str, Any]],
    *,
    created: int | None = None,
    status: str = "paid",
    sub: dict[str, Any] | None = None,
    country: str | None = None,
) -> dict[str, Any]:
    return {
        "id": new_id("in"),
        "object": "invoice",
        "created": created if created is not None else min(x["period"]["start"] for x in lines),
        "customer": cust["id"],
        "status": status,
        "currency": lines[0]["currency"],
        "customer_address": {"country": country} if country else None,
        "parent": {
            "type": "subscription_details",
            "subscription_details": {"subscription": sub["id"]},
        }
        if sub
        else None,
        "lines": {"object": "list", "data": lines, "has_more": False},
    }

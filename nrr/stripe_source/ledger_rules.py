"""Pure rules of the Stripe -> ledger derivation: units, intervals, prices, prorations.

Kept apart from the SQL so each rule is a small function tested on hand-written objects.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from zoneinfo import ZoneInfo

# Stripe amounts are integers in the currency's minor unit; these differ from the usual 2.
ZERO_DECIMAL = frozenset(
    [
        "bif",
        "clp",
        "djf",
        "gnf",
        "jpy",
        "kmf",
        "krw",
        "mga",
        "pyg",
        "rwf",
        "ugx",
        "vnd",
        "vuv",
        "xaf",
        "xof",
        "xpf",
    ]
)
THREE_DECIMAL = frozenset(["bhd", "jod", "kwd", "omr", "tnd"])


def minor_units(currency: str) -> int:
    """Digits after the decimal point in Stripe amounts of `currency`."""
    code = currency.lower()
    if code in ZERO_DECIMAL:
        return 0
    if code in THREE_DECIMAL:
        return 3
    return 2


def local_date(instant: int, zone: ZoneInfo) -> date:
    """The calendar day of a Unix instant in the reporting timezone (floor).

    Flooring keeps month-end activity exact: a period [s, e) is active at the last instant
    of a month iff floor(s) < first day of the next month <= floor(e).
    """
    return datetime.fromtimestamp(instant, UTC).astimezone(zone).date()


def round_half_up(value: Decimal) -> int:
    return int(value.to_integral_value(rounding=ROUND_HALF_UP))


def price_amount(
    price: Mapping[str, Any], quantity: int | None, currency: str | None = None
) -> int | None:
    """What `quantity` units of `price` cost for one period, in minor units (Stripe's rules).

    In a `currency` of the price's `currency_options` other than its own, that option's
    amounts apply: the customer pays its own currency's amount. None when the price cannot
    be evaluated (custom amounts, missing tiers).
    """
    options = price.get("currency_options") or {}
    if currency is not None and currency != price.get("currency") and currency in options:
        price = {**price, **{k: v for k, v in options[currency].items() if v is not None}}
    qty = int(quantity if quantity is not None else 1)
    transform = price.get("transform_quantity")
    if transform and transform.get("divide_by"):
        divided = qty / int(transform["divide_by"])
        qty = math.ceil(divided) if transform.get("round") == "up" else math.floor(divided)
    if price.get("billing_scheme", "per_unit") == "per_unit":
        unit = price.get("unit_amount_decimal") or price.get("unit_amount")
        if unit is None:
            return None
        return round_half_up(Decimal(str(unit)) * qty)
    tiers = price.get("tiers")
    if not tiers:
        return None
    if price.get("tiers_mode") == "volume":
        for tier in tiers:
            if tier.get("up_to") is None or qty <= tier["up_to"]:
                return round_half_up(_tier_unit(tier) * qty + _tier_flat(tier))
        return None
    total, below = Decimal(0), 0
    for tier in tiers:
        top = tier.get("up_to")
        units = (qty if top is None else min(qty, top)) - below
        if units <= 0:
            break
        total += _tier_unit(tier) * units + _tier_flat(tier)
        if top is None:
            break
        below = top
    return round_half_up(total)


def _tier_unit(tier: Mapping[str, Any]) -> Decimal:
    return Decimal(str(tier.get("unit_amount_decimal") or tier.get("unit_amount") or 0))


def _tier_flat(tier: Mapping[str, Any]) -> Decimal:
    return Decimal(str(tier.get("flat_amount_decimal") or tier.get("flat_amount") or 0))


def discounted(amount: int, coupon: Mapping[str, Any] | None, currency: str) -> int:
    """`amount` after a coupon, as one renewal line of that item would be discounted."""
    if not coupon:
        return amount
    if coupon.get("percent_off") is not None:
        cut = round_half_up(Decimal(amount) * Decimal(str(coupon["percent_off"])) / 100)
        return amount - cut
    off = coupon.get("amount_off")
    options = coupon.get("currency_options") or {}
    if coupon.get("currency") != currency and currency in options:
        off = options[currency].get("amount_off")
    if off is None or (coupon.get("currency") not in (None, currency) and currency not in options):
        return amount
    return max(amount - int(off), 0)


def without_inclusive_tax(net: int, tax_rates: list[Mapping[str, Any]]) -> int:
    """Remove inclusive tax (the part of `net` that is tax); exclusive tax is not in `net`."""
    for rate in tax_rates:
        if rate.get("inclusive") and rate.get("percentage") is not None:
            fraction = Decimal(str(rate["percentage"])) / 100
            net -= round_half_up(Decimal(net) * fraction / (1 + fraction))
    return net


def active_coupon(
    discounts: list[Mapping[str, Any]], coupons: Mapping[str, Mapping[str, Any]], instant: int
) -> Mapping[str, Any] | None:
    """The coupon of the first discount in effect at `instant` ('once' ones never are later)."""
    for discount in discounts:
        start, end = discount.get("start"), discount.get("end")
        if (start is not None and start > instant) or (end is not None and instant >= end):
            continue
        coupon_id = (discount.get("source") or {}).get("coupon") or discount.get("coupon")
        coupon = coupon_id if isinstance(coupon_id, Mapping) else coupons.get(coupon_id)
        if coupon and coupon.get("duration") != "once":
            return coupon
    return None


def item_tax_rates(subscription: Mapping[str, Any], price_id: str) -> list[Mapping[str, Any]]:
    """The tax rates of the subscription's item for `price_id`, else its default ones."""
    for item in (subscription.get("items") or {}).get("data") or []:
        price = item.get("price")
        item_price = price.get("id") if isinstance(price, Mapping) else price
        if item_price == price_id and item.get("tax_rates"):
            return list(item["tax_rates"])
    return list(subscription.get("default_tax_rates") or [])


def full_period_net(
    price: Mapping[str, Any],
    quantity: int | None,
    *,
    coupon: Mapping[str, Any] | None,
    tax_rates: list[Mapping[str, Any]],
    currency: str,
) -> int | None:
    """One full period of an item after a mid-cycle change: the arithmetic of its renewal line.

    Used for a proration's new state when no later renewal line shows the real amount.
    """
    gross = price_amount(price, quantity, currency)
    if gross is None:
        return None
    return without_inclusive_tax(discounted(gross, coupon, currency), tax_rates)

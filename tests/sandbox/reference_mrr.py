"""A second, independent reading of MRR from the Stripe JSON the local server serves.

The generator's truth comes from the simulation's own decisions; this module recomputes
customer-month MRR from the rendered Stripe objects alone, following the rules written in
docs/local-stripe.md. Tests compare the two: when they agree, the objects really say what
the truth says (and the documented rules are enough to read them).
"""

from __future__ import annotations

import math
from collections import defaultdict
from datetime import date
from typing import Any

from nrr.sandbox.stripe_account import render
from nrr.sandbox.stripe_account.account import Account

MONTHS = {"month": 1.0, "year": 12.0, "week": 12.0 / 52.0, "day": 12.0 / 365.0}


def months_per_period(price: dict[str, Any]) -> float:
    recurring = price["recurring"]
    return MONTHS[recurring["interval"]] * recurring["interval_count"]


def round_half_up(value: float) -> int:
    return math.floor(abs(value) + 0.5) * (1 if value >= 0 else -1)


def price_amount(price: dict[str, Any], quantity: int) -> int:
    if price["billing_scheme"] == "per_unit":
        return price["unit_amount"] * quantity
    tiers = price["tiers"]
    if price["tiers_mode"] == "volume":
        tier = next(t for t in tiers if t["up_to"] is None or quantity <= t["up_to"])
        return tier["unit_amount"] * quantity + (tier["flat_amount"] or 0)
    total, below = 0, 0
    for tier in tiers:
        top = quantity if tier["up_to"] is None else min(quantity, tier["up_to"])
        if top <= below:
            break
        total += tier["unit_amount"] * (top - below) + (tier["flat_amount"] or 0)
        below = top
    return total


def reference_mrr(account: Account) -> dict[tuple[str, date], float]:
    """(customer id, month) -> MRR in the reporting currency, from the objects alone."""
    prices = {p.id: render.price(p) for p in account.prices}
    coupons = {c.id: render.coupon(c) for c in account.coupons}
    discounts = {d.id: render.discount(d) for d in account.world.discounts}
    rates = {t.id: render.tax_rate(t) for t in account.tax_rates}
    subs = {s.id: render.subscription(s) for s in account.subscriptions}
    # subscription id -> [start, end, monthly cents, item id, discount id, metered]
    segments: dict[str, list[list[Any]]] = defaultdict(list)
    prorations = []
    invoices = sorted(account.invoices, key=lambda i: (i.created, i.id))
    unpaid_from: dict[str, int] = {}  # unpaid subscription -> start of its first unpaid period
    for record in invoices:
        invoice = render.invoice(record)
        if invoice["status"] in ("void", "uncollectible"):
            continue
        sub_id = (invoice["parent"] or {}).get("subscription_details", {}).get("subscription")
        if invoice["status"] == "open" and sub_id and subs[sub_id]["status"] == "unpaid":
            # an unpaid invoice bills nothing; its licensed period starts the unpaid stretch
            starts = [
                line.period_start
                for line in record.lines
                if line.kind == "subscription" and line.price.usage_type == "licensed"
            ]
            if starts:
                unpaid_from[sub_id] = min(unpaid_from.get(sub_id, min(starts)), min(starts))
            continue
        for line in (render.invoice_line(x) for x in record.lines):
            parent = line["parent"]
            if parent["type"] != "subscription_item_details":
                continue  # one-off invoice items and setup fees are not MRR
            details = parent["subscription_item_details"]
            if details["proration"]:
                prorations.append(line)
                continue
            if line["amount"] == 0:
                continue  # trial
            price = prices[line["pricing"]["price_details"]["price"]]
            inclusive = sum(t["amount"] for t in line["taxes"] if t["tax_behavior"] == "inclusive")
            discount = sum(d["amount"] for d in line["discount_amounts"])
            used = [d["discount"] for d in line["discount_amounts"]]
            net = line["amount"] - discount - inclusive
            segments[details["subscription"]].append(
                [
                    line["period"]["start"],
                    line["period"]["end"],
                    net / months_per_period(price),
                    details["subscription_item"],
                    used[0] if used else None,
                    price["recurring"]["usage_type"] == "metered",
                ]
            )
    for line in prorations:  # in invoice order: later changes override earlier ones
        details = line["parent"]["subscription_item_details"]
        sub_id, start, end = details["subscription"], line["period"]["start"], line["period"]["end"]
        covering = [s for s in segments[sub_id] if not s[5] and s[0] <= start < s[1]]
        if line["amount"] < 0:
            for segment in covering:
                if segment[3] == details["subscription_item"]:
                    segment[1] = start
            continue
        # the period's discount, from any licensed segment of the period (even one the
        # negative line of this change just cut at `start`)
        period = [s for s in segments[sub_id] if not s[5] and s[0] <= start <= s[1]]
        discount_id = next((s[4] for s in period if s[4]), None)
        price = prices[line["pricing"]["price_details"]["price"]]
        options = price.get("currency_options") or {}
        if line["currency"] != price["currency"] and line["currency"] in options:
            price = {**price, "unit_amount": options[line["currency"]]["unit_amount"]}
        full = price_amount(price, line["quantity"])
        if discount_id is not None:
            percent = coupons[discounts[discount_id]["source"]["coupon"]]["percent_off"]
            full -= round_half_up(full * percent / 100.0)
        tax = 0
        for t in line["taxes"]:
            rate = rates[t["tax_rate_details"]["tax_rate"]]
            if rate["inclusive"]:
                fraction = rate["percentage"] / 100.0
                tax = round_half_up(full * fraction / (1 + fraction))
        segments[sub_id].append(
            [
                start,
                end,
                (full - tax) / months_per_period(price),
                details["subscription_item"],
                discount_id,
                False,
            ]
        )
    _add_provisional_usage(segments, subs)
    months, bounds = account.month_bounds()
    fx = _fx(account)
    out: dict[tuple[str, date], float] = defaultdict(float)
    for sub_id, sub_segments in segments.items():
        sub = subs[sub_id]
        ended = sub["ended_at"]
        if sub_id in unpaid_from:
            ended = unpaid_from[sub_id]
        for start, end, cents, *_ in sub_segments:
            if ended is not None:
                end = min(end, ended)
            for k, boundary in enumerate(bounds):
                if start < boundary <= end:
                    rate = fx.get((sub["currency"], months[k]), 1.0)
                    out[(sub["customer"], months[k])] += cents / 100.0 * rate
    return {key: value for key, value in out.items() if value > 1e-9}


def _add_provisional_usage(segments: dict[str, list[list[Any]]], subs: dict[str, Any]) -> None:
    """A running subscription's usage not invoiced yet carries its last usage line's amount:
    from the current period's start (where the last usage line ended) until it ends."""
    for sub_id, sub_segments in segments.items():
        sub = subs[sub_id]
        if sub["status"] not in ("active", "past_due", "trialing") or sub["pause_collection"]:
            continue
        for item in sub["items"]["data"]:
            if item["price"]["recurring"]["usage_type"] != "metered":
                continue
            usage = [seg for seg in sub_segments if seg[5] and seg[3] == item["id"]]
            if not usage:
                continue
            last = max(usage, key=lambda seg: seg[1])
            if last[1] == item["current_period_start"]:
                end = sub["cancel_at"] if sub["cancel_at"] is not None else 2**62
                sub_segments.append([last[1], end, last[2], item["id"], None, True])


def _fx(account: Account) -> dict[tuple[str, date], float]:
    table = account.fx_rates.to_pylist()
    return {
        (row["currency"], date(int(row["month"][:4]), int(row["month"][5:]), 1)): row["rate"]
        for row in table
    }

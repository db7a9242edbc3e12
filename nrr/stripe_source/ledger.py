"""Stripe billing in the raw lake -> revenue ledger (one row per revenue period).

Revenue comes from invoice lines, because they are what the customer was actually billed:
tiered prices, quantities, discounts and taxes are already worked out in their amounts.
Every choice is documented in docs/stripe.md; in short:

- Lines count when they bill a recurring price of a subscription, on any invoice except
  void ones (drafts count: a renewal is drafted when its period begins and finalised about
  an hour later). One-off items and setup fees (one-time prices) never count.
- A line's monthly amount is (amount - discounts - inclusive tax) normalised by its
  price's interval and interval_count (exclusive tax is never in `amount`).
- Each subscription x price is a stream of periods: a later period supersedes an earlier
  one from its start. A mid-cycle change bills a proration pair: the credit for unused time
  cuts the old state at the change, the charge for remaining time starts the new state,
  valued at a full period (the next renewal line of that state when there is one,
  otherwise the price's arithmetic with the subscription's discount and tax rate).
- Metered usage counts over the service period its line bills for.
- Revenue stops when the subscription ends (`ended_at`): cancellation at period end
  therefore counts until the period really ends. The latest period of a live subscription
  (active, past_due, trialing) runs on until the subscription is cancelled.
- Churn kind: `involuntary` when the subscription ended for a failed or disputed payment,
  `voluntary` otherwise, written on every row of the subscription.
- Refunds and credit notes do not rewrite past MRR.
- Dates are the calendar days in the reporting timezone of Stripe's instants, floored.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import duckdb
import pyarrow as pa

from nrr.errors import NrrError
from nrr.metrics.engine import KNOWN_LEDGER_COLUMNS
from nrr.settings import Settings
from nrr.stripe_source import ledger_rules as rules
from nrr.stripe_source import ledger_sql
from nrr.stripe_source.datasets import (
    COUPONS,
    CUSTOMERS,
    DISCOUNTS,
    INVOICE_LINES,
    INVOICES,
    PRICES,
    PRODUCTS,
    SUBSCRIPTIONS,
    Dataset,
)
from nrr.stripe_source.lake import dataset_path, stripe_root, to_table, typed_table
from nrr.stripe_source.objects import split_invoice
from nrr.stripe_source.state import StateStore

INPUTS: tuple[Dataset, ...] = (
    CUSTOMERS, PRODUCTS, PRICES, COUPONS, DISCOUNTS, SUBSCRIPTIONS, INVOICES, INVOICE_LINES,
)  # fmt: skip
LIVE_STATUSES = ("active", "past_due", "trialing")
INVOLUNTARY_REASONS = ("payment_failed", "payment_disputed")
BASE_COLUMNS = KNOWN_LEDGER_COLUMNS
ATTRIBUTE_COLUMNS = ("plan", "billing_interval", "country", "channel")


def ledger_from_lake(settings: Settings) -> pa.Table:
    """The revenue ledger of the Stripe lake under the data directory (for `nrr compute`)."""
    root = stripe_root(settings.lake_dir)
    pending = StateStore(root / "_state.json").state.pending
    if pending is not None and pending.committing:
        raise NrrError(
            f"the last Stripe extraction ({pending.run_id}) stopped while writing the lake "
            f"{root}; run `nrr extract` again to finish it"
        )
    if not dataset_path(root, INVOICES.name).exists():
        raise NrrError(
            f"no extracted Stripe data in {root}: run `nrr extract` first, or pass --ledger"
        )
    con = duckdb.connect()
    try:
        for dataset in INPUTS:
            path = dataset_path(root, dataset.name)
            if path.exists():
                quoted = str(path).replace("'", "''")
                con.execute(
                    f"create view s_{dataset.name} as select * from read_parquet('{quoted}')"
                )
            else:
                con.register(f"s_{dataset.name}", dataset.schema.empty_table())
        return derive_ledger(con, timezone=settings.timezone, metadata_keys=_keys(settings))
    finally:
        con.close()


def _keys(settings: Settings) -> tuple[str, ...]:
    return tuple(key for key in settings.stripe_metadata_keys if key != "channel")


def ledger_from_objects(
    *,
    customers: Iterable[Mapping[str, Any]] = (),
    products: Iterable[Mapping[str, Any]] = (),
    prices: Iterable[Mapping[str, Any]] = (),
    coupons: Iterable[Mapping[str, Any]] = (),
    discounts: Iterable[Mapping[str, Any]] = (),
    subscriptions: Iterable[Mapping[str, Any]] = (),
    invoices: Iterable[Mapping[str, Any]] = (),
    timezone: str = "UTC",
    metadata_keys: Sequence[str] = (),
) -> pa.Table:
    """The same derivation over Stripe objects given as dicts (invoices embed all lines)."""
    heads, lines, line_notes = [], [], []
    for invoice in invoices:
        embedded = list((invoice.get("lines") or {}).get("data", []))
        head, annotated, notes = split_invoice(invoice, embedded)
        heads.append(head)
        lines.extend(annotated)
        line_notes.extend([notes] * len(annotated))
    objects = {
        CUSTOMERS: customers, PRODUCTS: products, PRICES: prices, COUPONS: coupons,
        DISCOUNTS: discounts, SUBSCRIPTIONS: subscriptions, INVOICES: heads,
        INVOICE_LINES: lines,
    }  # fmt: skip
    con = duckdb.connect()
    try:
        now = datetime.now(UTC)
        for dataset, rows in objects.items():
            rows = list(rows)
            notes = line_notes if dataset is INVOICE_LINES else None
            if dataset is INVOICES:
                notes = [{"line_count": None} for _ in rows]
            staged = to_table(
                dataset, rows, run_id="objects", extracted_at=now, source="list", notes=notes
            )
            con.register(f"s_{dataset.name}", typed_table(dataset, staged))
        return derive_ledger(con, timezone=timezone, metadata_keys=tuple(metadata_keys))
    finally:
        con.close()


def derive_ledger(
    con: duckdb.DuckDBPyConnection, *, timezone: str, metadata_keys: Sequence[str] = ()
) -> pa.Table:
    """Run the derivation on views `s_<dataset>` in `con`; returns the ledger as Arrow."""
    con.execute("set timezone = 'UTC'")
    con.execute(ledger_sql.RECURRING_LINES)
    _check_prices(con)
    con.execute(ledger_sql.PRORATION_VALUES)
    _value_prorations(con)
    minor = pa.table(
        {
            "currency": sorted(rules.ZERO_DECIMAL | rules.THREE_DECIMAL),
            "exponent": [
                rules.minor_units(c) for c in sorted(rules.ZERO_DECIMAL | rules.THREE_DECIMAL)
            ],
        }
    )
    con.register("_minor_units", minor)
    zone = timezone.replace("'", "''")
    con.execute(ledger_sql.REVENUE_PERIODS.replace("{{ timezone }}", zone))
    return _with_attributes(con, metadata_keys)


def _check_prices(con: duckdb.DuckDBPyConnection) -> None:
    """A subscription line whose price is not in the lake would silently lose revenue."""
    missing = con.execute(
        """
        select l.id, l.invoice_id, l.price_id
        from s_invoice_lines as l
        left join s_prices as p on l.price_id = p.id
        where l.subscription_id is not null and l.price_id is not null and p.id is null
        order by l.invoice_id, l.id
        limit 5
        """
    ).fetchall()
    if missing:
        line, invoice, price = missing[0]
        raise NrrError(
            f"invoice line {line} of invoice {invoice} bills price {price}, which is not in "
            "the Stripe lake: run `nrr extract --full` to re-sync the catalog"
        )


def _raw_by_id(con: duckdb.DuckDBPyConnection, view: str) -> dict[str, dict[str, Any]]:
    return {
        oid: json.loads(raw) for oid, raw in con.execute(f"select id, raw from {view}").fetchall()
    }


def _value_prorations(con: duckdb.DuckDBPyConnection) -> None:
    """The full-period value of each mid-cycle change's new state (see ledger_rules)."""
    rows = con.execute(
        """
        select c.line_id, c.subscription_id, c.price_id, c.quantity, c.currency,
               c.period_start, c.net, v.net as renewal_net, p.raw, s.raw
        from _recurring_lines as c
        left join _proration_values as v using (line_id)
        left join s_prices as p on c.price_id = p.id
        left join s_subscriptions as s on c.subscription_id = s.id
        where c.kind = 2
        """
    ).fetchall()
    coupons = _raw_by_id(con, "s_coupons") if rows else {}
    discounts = _raw_by_id(con, "s_discounts") if rows else {}
    by_subscription: dict[str, list[dict[str, Any]]] = {}
    for discount in discounts.values():
        if discount.get("subscription"):
            by_subscription.setdefault(discount["subscription"], []).append(discount)
    values: list[tuple[str, int]] = []
    for line_id, sub_id, price_id, qty, currency, start, net, renewal, price_raw, sub_raw in rows:
        sub = json.loads(sub_raw) if sub_raw else {}
        # the discounts ever seen on the subscription, and those it lists now
        known = sorted(by_subscription.get(sub_id, []), key=lambda d: d.get("start") or 0)
        listed = [
            discounts.get(d, {}) if isinstance(d, str) else d for d in sub.get("discounts") or []
        ]
        value = rules.full_period_net(
            json.loads(price_raw) if price_raw else {},
            qty,
            coupon=rules.active_coupon(known + listed, coupons, int(start)),
            tax_rates=rules.item_tax_rates(sub, price_id),
            currency=currency,
        )
        if value is None:
            value = int(renewal if renewal is not None else net)
        values.append((line_id, value))
    valued = pa.table(
        {"line_id": [v[0] for v in values], "net": [v[1] for v in values]},
        schema=pa.schema([("line_id", pa.string()), ("net", pa.int64())]),
    )
    con.register("_valued_prorations", valued)
    con.execute(
        "create or replace temp table _proration_values as select * from _valued_prorations"
    )


def _with_attributes(con: duckdb.DuckDBPyConnection, metadata_keys: Sequence[str]) -> pa.Table:
    taken = set(BASE_COLUMNS) | set(ATTRIBUTE_COLUMNS)
    extra = ""
    for key in metadata_keys:
        name = key if key not in taken else f"metadata_{key}"
        taken.add(name)
        path = json.dumps(key).replace("'", "''")
        alias = '"' + name.replace('"', '""') + '"'
        extra += f",\n json_extract_string(c.metadata, '$.' || '{path}') as {alias}"
    con.execute(ledger_sql.LEDGER.replace("{{ metadata_columns }}", extra))
    return con.sql(
        "select * from _ledger order by customer_id, start_date, plan, mrr"
    ).to_arrow_table()

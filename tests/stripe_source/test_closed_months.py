"""A closed month's figures do not move when later invoices arrive, except where the contract
says a provisional usage figure is replaced by the invoiced one (metrics.md 1.1)."""

from __future__ import annotations

from datetime import date

import duckdb
import pytest

from nrr.compute import compute
from nrr.sandbox.stripe_generator import generate_account
from nrr.sandbox.stripe_server import serve
from nrr.stripe_source.extract import extract
from tests.stripe_source.conftest import stripe_settings


def _mrr(settings) -> dict[tuple[str, date], float]:
    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    try:
        rows = con.execute("select customer_id, month, mrr from customer_mrr_monthly").fetchall()
    finally:
        con.close()
    return {(customer, month): float(mrr) for customer, month, mrr in rows}


@pytest.mark.slow  # extracted and computed twice
def test_later_invoices_move_a_closed_month_only_where_usage_was_provisional(tmp_path):
    # no payment failures or abandoned first payments: those rightly restate the past
    # (an unpaid or uncollectible period is not revenue from its start)
    account = generate_account(
        220, 14, first_month=date(2024, 1, 1), seed=41,
        emphasis={"payment_failure": 0.0, "incomplete": 0.0},
    )  # fmt: skip
    closed = max(account.truth.column("month").to_pylist())
    fx = tmp_path / "fx.csv"
    account.write_fx_rates(fx)
    with serve(account) as server:
        settings = stripe_settings(tmp_path / "data", server.url, fx_rates_path=fx)
        extract(settings)
        compute(settings, closed)
        at_close = _mrr(settings)
        account.advance(20)  # renewals, and the usage of the closed month gets invoiced
        account.write_fx_rates(fx)
        extract(settings)
        compute(settings, closed)
        later = _mrr(settings)

    usage_customers = {
        sub.customer
        for sub in account.subscriptions
        if any(item.price.usage_type == "metered" for item in sub.items)
    }
    moved = {
        key
        for key in set(at_close) | set(later)
        if abs(at_close.get(key, 0.0) - later.get(key, 0.0)) >= 0.005
    }
    assert moved, "the closed month had provisional usage that the new invoices replaced"
    assert {month for _, month in moved} == {closed}
    assert {customer for customer, _ in moved} <= usage_customers
    # what it moved to is the invoiced figure: the account's truth now
    truth = {(r["customer_id"], r["month"]): r["mrr"] for r in account.truth.to_pylist()}
    assert all(abs(truth.get(key, 0.0) - later.get(key, 0.0)) < 0.005 for key in moved)
    assert len(at_close) > 1_000

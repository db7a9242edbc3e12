"""Archived and inline prices still bill: every price a line or an item references is in the
lake, whether Stripe's default price list returns it or not (metrics.md section 1.1)."""

from __future__ import annotations

import json

import duckdb
import pyarrow.parquet as pq
import stripe

from nrr.sandbox.stripe_server import serve
from nrr.stripe_source.extract import extract
from nrr.stripe_source.lake import dataset_path, stripe_root
from nrr.stripe_source.ledger import ledger_from_lake
from tests.stripe_source.conftest import API_KEY, small_account, stripe_settings


def _lake(settings, name: str) -> list[dict]:
    return pq.read_table(dataset_path(stripe_root(settings.lake_dir), name)).to_pylist()


def _referenced_prices(account) -> set[str]:
    lines = {
        line.price.id
        for invoice in account.invoices
        for line in invoice.lines
        if line.price is not None
    }
    return lines | {item.price.id for sub in account.subscriptions for item in sub.items}


def test_prices_no_list_returns_are_fetched_and_bill(tmp_path):
    account = small_account(seed=21, customers=200, months=24)
    referenced = _referenced_prices(account)
    inline = {p.id for p in account.prices if p.inline and p.id in referenced}
    archived = {p.id for p in account.prices if not p.active and not p.inline}
    archived_billing = {
        line.price.id
        for invoice in account.invoices
        if invoice.status != "void" and invoice.created > account.catalog.repricing_at
        for line in invoice.lines
        if line.price is not None and line.price.id in archived
    }
    assert len(inline) >= 3 and len(archived_billing) >= 3  # the cases are really there
    assert any(not p.active for p in account.products)

    with serve(account) as server:
        client = stripe.StripeClient(API_KEY, base_addresses={"api": server.url})
        default = {p.id for p in client.v1.prices.list({"limit": 100}).auto_paging_iter()}
        assert not default & (inline | archived)  # Stripe's default: active, not inline
        settings = stripe_settings(tmp_path, server.url)
        extract(settings)
        retrieved = [r.path for r in server.requests if r.path.startswith("/v1/prices/")]

    prices = {row["id"]: row for row in _lake(settings, "prices")}
    assert referenced <= set(prices)
    # inline prices came one request each; archived ones from the list with active=false
    assert sorted(retrieved) == sorted(f"/v1/prices/{pid}" for pid in inline)
    assert {pid for pid, row in prices.items() if row["_source"] == "retrieve"} == inline
    assert all(prices[pid]["active"] is False for pid in archived | inline)
    products = {row["id"]: row for row in _lake(settings, "products")}
    assert {json.loads(row["raw"])["product"] for row in prices.values()} <= set(products)
    assert not any(row["deleted"] for row in products.values())  # archived is not deleted

    ledger = ledger_from_lake(settings)
    con = duckdb.connect()
    con.register("ledger", ledger)
    billed = {
        row[0]
        for row in con.execute(
            "select distinct plan from ledger where plan like 'Enterprise%'"
        ).fetchall()
    }
    assert billed  # inline enterprise prices bill (their product's name is the plan)


def test_an_incremental_run_fetches_new_inline_prices_and_keeps_archived_ones(tmp_path):
    account = small_account(seed=8, customers=150, months=18)
    with serve(account) as server:
        settings = stripe_settings(tmp_path / "incremental", server.url)
        extract(settings)
        before = {p.id for p in account.prices if p.inline}
        account.advance(27, new_customers=60)
        new_inline = {p.id for p in account.prices if p.inline} - before
        server.clear_requests()
        second = extract(settings)
        retrieved = {r.path for r in server.requests if r.path.startswith("/v1/prices/")}
        fresh = stripe_settings(tmp_path / "fresh", server.url)
        extract(fresh)
    assert second.mode == "incremental"
    assert new_inline, "the advance created inline prices (new contracts or uplifts)"
    inline_paths = {f"/v1/prices/{pid}" for pid in new_inline}
    assert inline_paths <= retrieved
    # the other retrieves re-read prices whose events carry no includable fields (tiers,
    # currency_options: events.py)
    others = {path.rsplit("/", 1)[1] for path in retrieved - inline_paths}
    evented = {e.obj.id for e in account.events if e.type.startswith("price.")}
    assert others <= evented
    assert {r["id"] for r in _lake(settings, "prices")} == {r["id"] for r in _lake(fresh, "prices")}
    revenue = ["customer_id", "start_date", "end_date", "mrr", "currency", "plan"]
    assert (
        ledger_from_lake(settings).select(revenue).to_pylist()
        == ledger_from_lake(fresh).select(revenue).to_pylist()
    )

"""Events keep the API version they were created with: an account pinned to an older version
sends older shapes, and the changes that arrive only through them are not dropped."""

from __future__ import annotations

import json

import pyarrow.parquet as pq

from nrr.sandbox.stripe_account import render
from nrr.sandbox.stripe_server import serve
from nrr.stripe_source.extract import extract
from nrr.stripe_source.lake import dataset_path, stripe_root
from nrr.stripe_source.ledger import ledger_from_lake
from tests.stripe_source.conftest import small_account, stripe_settings


def _discounts(settings) -> dict[str, dict]:
    path = dataset_path(stripe_root(settings.lake_dir), "discounts")
    rows = pq.read_table(path).to_pylist()
    fields = ("source", "customer", "subscription", "start", "end", "invoice")
    return {
        row["id"]: {
            "deleted": row["deleted"],
            "coupon_id": row["coupon_id"],
            **{key: json.loads(row["raw"]).get(key) for key in fields},
        }
        for row in rows
    }


def _incremental(tmp_path, name: str, version: str | None):
    account = small_account(seed=12, customers=150, months=18)
    account.events_api_version = version
    with serve(account) as server:
        settings = stripe_settings(tmp_path / name, server.url)
        extract(settings)
        account.advance(27, new_customers=40)
        server.clear_requests()
        result = extract(settings)
        events = [r for r in server.requests if r.path == "/v1/events"]
    assert result.mode == "incremental" and events
    return account, settings


def test_discount_changes_in_older_event_shapes_are_not_dropped(tmp_path):
    old_account, old = _incremental(tmp_path, "older", render.OLDER_API_VERSION)
    _, pinned = _incremental(tmp_path, "pinned", None)
    changed = [
        e for e in old_account.events
        if e.type.startswith("customer.discount.") and e.created > old_account.now - 27 * 86_400
    ]  # fmt: skip
    assert any(e.type == "customer.discount.deleted" for e in changed)
    assert len(changed) >= 5
    # served in the older shape: the coupon embedded, no `source`
    sample = render.event(changed[0], render.OLDER_API_VERSION)["data"]["object"]
    assert "coupon" in sample and "source" not in sample

    older, current = _discounts(old), _discounts(pinned)
    # the same discounts, deletions and coupons as the pinned version (fields that only the
    # newer version has, like `customer_account`, aside)
    assert older == current
    assert {d["id"] for e in changed for d in [render.discount(e.obj)]} <= set(older)
    assert all(older[e.obj.id]["deleted"] for e in changed if e.type.endswith(".deleted"))
    revenue = ["customer_id", "start_date", "end_date", "mrr", "currency", "churn_kind"]
    assert (
        ledger_from_lake(old).select(revenue).to_pylist()
        == ledger_from_lake(pinned).select(revenue).to_pylist()
    )

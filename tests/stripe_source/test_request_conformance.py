"""Every request the extractor sends is one Stripe defines (the pinned package's parameter
definitions): paths, parameters and their values, `expand` paths."""

from __future__ import annotations

from collections import Counter

from nrr.sandbox.stripe_server import serve
from nrr.stripe_source.extract import extract
from tests.sandbox.stripe_definitions import request_errors
from tests.stripe_source.conftest import small_account, stripe_settings


def test_every_request_of_a_full_and_an_incremental_run_is_defined_by_stripe(tmp_path):
    account = small_account(seed=8, customers=150, months=18)
    with serve(account) as server:
        settings = stripe_settings(tmp_path, server.url)
        extract(settings)
        account.advance(27, new_customers=40)
        second = extract(settings)
        requests = list(server.requests)
    assert second.mode == "incremental"
    errors = [error for r in requests for error in request_errors(r.method, r.path, r.params)]
    assert errors == []
    words = {"v1", "lines", "customers", "products", "prices", "coupons", "subscriptions",
             "subscription_items", "invoices", "credit_notes", "events"}  # fmt: skip
    kinds = Counter(
        "/".join(part if part in words or not part else "{id}" for part in r.path.split("/"))
        for r in requests
    )
    # the checks saw every kind of request the extractor makes
    assert {
        "/v1/customers", "/v1/products", "/v1/prices", "/v1/prices/{id}", "/v1/coupons",
        "/v1/subscriptions", "/v1/invoices", "/v1/invoices/{id}/lines", "/v1/credit_notes",
        "/v1/events", "/v1/events/{id}",
    } <= set(kinds), kinds  # fmt: skip
    expanded = {p for r in requests for p in r.params.get("expand", [])}
    assert {"data.tiers", "data.discounts", "tiers"} <= expanded

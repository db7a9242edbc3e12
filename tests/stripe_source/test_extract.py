"""Extraction against the local Stripe-compatible server with the real `stripe` client."""

from __future__ import annotations

import shutil

import duckdb
import pytest

from nrr.errors import NrrError
from nrr.sandbox.stripe_server import serve
from nrr.stripe_source.extract import check_access, extract
from nrr.stripe_source.lake import dataset_path, stripe_root
from tests.stripe_source.conftest import lake_fingerprint, stripe_settings


def committed_ids(settings, name: str) -> list[str]:
    path = dataset_path(stripe_root(settings.lake_dir), name)
    return duckdb.sql(f"select id from '{path}' order by id").fetchnumpy()["id"].tolist()


def test_a_full_extraction_holds_every_object_once_with_all_invoice_lines(
    tmp_path, account, server
):
    settings = stripe_settings(tmp_path, server.url)
    result = extract(settings)
    assert result.mode == "full" and not result.resumed
    expected = {
        "subscriptions": sorted(s.id for s in account.subscriptions),
        "invoices": sorted(i.id for i in account.invoices),
        "invoice_lines": sorted(line.id for i in account.invoices for line in i.lines),
        "credit_notes": sorted(c.id for c in account.credit_notes),
        "prices": sorted(p.id for p in account.prices),
        "products": sorted(p.id for p in account.products),
        "coupons": sorted(c.id for c in account.coupons),
    }
    for name, ids in expected.items():
        assert committed_ids(settings, name) == ids, name
    assert max(len(i.lines) for i in account.invoices) > 10  # line pagination was needed
    deleted_recently = {e.obj.id for e in account.events if e.type == "customer.deleted"}
    listed = {c.id for c in account.customers if not c.deleted}
    assert set(committed_ids(settings, "customers")) == listed | deleted_recently
    assert result.rows["invoice_lines"] == len(expected["invoice_lines"])
    assert result.requests == len(server.requests)
    assert all(
        r.params.get("limit") in ("100", "1") for r in server.requests if "limit" in r.params
    )


def test_check_access_is_one_harmless_request(tmp_path, server):
    check_access(stripe_settings(tmp_path, server.url))
    assert [(r.path, r.params) for r in server.requests] == [("/v1/customers", {"limit": "1"})]


SCOPES_WITHOUT_INVOICES = {
    "rak_customer_read", "rak_product_read", "rak_price_read", "rak_coupon_read",
    "rak_subscription_read", "rak_credit_note_read", "rak_event_read",
}  # fmt: skip


@pytest.fixture(scope="module")
def extracted(account, tmp_path_factory):
    """A data directory with a committed lake, copied by each test that needs one."""
    data = tmp_path_factory.mktemp("extracted")
    with serve(account) as running:
        extract(stripe_settings(data, running.url))
    return data


@pytest.mark.parametrize(
    ("problem", "message"),
    [
        ("bad_key", r"Stripe rejected the API key in STRIPE_API_KEY \(HTTP 401"),
        ("no_invoice_scope", r"may not read invoices \(HTTP 403\).*rak_invoice_read"),
        ("unreachable", r"cannot reach the Stripe API at http://127\.0\.0\.1:\d+ .*refused"),
        ("no_key", r"no Stripe API key: set STRIPE_API_KEY"),
    ],
)
def test_access_problems_are_one_clear_error_and_leave_the_lake_untouched(
    tmp_path, account, extracted, problem, message
):
    data = tmp_path / "data"
    shutil.copytree(extracted, data)
    before = lake_fingerprint(data)
    overrides: dict[str, object] = {
        "bad_key": {"stripe_api_key": "sk_test_wrong"},
        "no_invoice_scope": {"stripe_api_key": "rk_test_partial"},
        "unreachable": {},
        "no_key": {"stripe_api_key": None},
    }[problem]
    with serve(account, restricted_keys={"rk_test_partial": SCOPES_WITHOUT_INVOICES}) as running:
        url = running.url
        if problem == "unreachable":
            running.stop()  # nothing listens on that port any more
        settings = stripe_settings(data, url, stripe_max_retries=1, **overrides)
        for run in (lambda: extract(settings, full=True), lambda: extract(settings)):
            with pytest.raises(NrrError, match=message) as caught:
                run()
            assert "\n" not in str(caught.value)
            assert str(caught.value).endswith("; the lake is unchanged")
    assert lake_fingerprint(data) == before

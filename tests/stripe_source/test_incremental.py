"""Incremental runs: after changes on the server, fetch only the changes, and end with the
lake a full re-extraction would give."""

from __future__ import annotations

from nrr.sandbox.stripe_server import serve
from nrr.stripe_source.extract import extract
from nrr.stripe_source.ledger import ledger_from_lake
from tests.stripe_source.conftest import lake_rows, small_account, stripe_settings


def test_a_monthly_run_fetches_the_changes_and_matches_a_full_re_extraction(tmp_path):
    account = small_account(seed=8, customers=150, months=18)
    with serve(account) as server:
        settings = stripe_settings(tmp_path / "incremental", server.url)
        first = extract(settings)
        account.advance(27)  # weeks of renewals, payments, cancellations, new customers
        server.clear_requests()
        second = extract(settings)
        server_log = list(server.requests)
        paths = [r.path for r in server_log]
        fresh = extract(stripe_settings(tmp_path / "fresh", server.url))

    assert (first.mode, second.mode, fresh.mode) == ("full", "incremental", "full")
    since = account.now - 27 * 86_400
    changed = {e.obj.id for e in account.events if e.created > since}
    assert len(changed) > 100
    # requests grow with the changes (events come 100 to a page), not with the history:
    # every page listed carries a `created` lower bound; nothing is walked from the start
    assert second.requests < len(changed) / 5, (second.requests, len(changed))
    listed = [r for r in server_log if r.params.get("limit") == "100" and r.path != "/v1/events"]
    assert listed and all(
        "gte" in r.params.get("created", {}) or r.path.endswith("/lines") for r in listed
    )
    assert paths.count("/v1/events") >= 2  # both event groups were read
    assert not any(p.startswith("/v1/invoices/") and not p.endswith("/lines") for p in paths)

    # Stripe moves a customer's next_invoice_sequence without an event: the lake keeps the
    # value of the customer's last event until the next full run (docs/stripe.md)
    silent = {"customers": {"next_invoice_sequence"}}
    incremental = lake_rows(tmp_path / "incremental", ignore=silent)
    full = lake_rows(tmp_path / "fresh", ignore=silent)
    for name, rows in full.items():
        missing = set(rows) - set(incremental[name])
        assert not missing, f"{name}: {len(missing)} rows differ, e.g. {sorted(missing)[:1]}"
        # only history a full listing can no longer see is extra: deleted objects
        extra = set(incremental[name]) - set(rows)
        assert all(dict(row).get("deleted") for row in extra), name
    # and the revenue ledger, what the metrics read, is the same (the incremental lake may
    # know more about customers deleted long ago: their country and channel)
    revenue = ["customer_id", "start_date", "end_date", "mrr", "currency", "churn_kind", "plan"]
    ledgers = [
        ledger_from_lake(stripe_settings(tmp_path / kind, server.url)).select(revenue).to_pylist()
        for kind in ("incremental", "fresh")
    ]
    assert ledgers[0] == ledgers[1] and len(ledgers[0]) > 500


def test_a_gap_longer_than_the_event_retention_falls_back_to_a_full_re_sync(tmp_path):
    account = small_account(seed=9, customers=60, months=12)
    with serve(account) as server:
        settings = stripe_settings(tmp_path, server.url)
        extract(settings)
        account.advance(40)  # the newest event of the first run is older than 30 days now
        result = extract(settings)
        extract(stripe_settings(tmp_path / "fresh", server.url))
    assert result.mode == "full"
    assert "30-day retention" in result.reason
    incremental, full = lake_rows(tmp_path), lake_rows(tmp_path / "fresh")
    for name, rows in full.items():
        assert set(rows) <= set(incremental[name]), name

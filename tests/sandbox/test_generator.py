"""The synthetic account: determinism, variety, and a ground truth that the objects bear out."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, date, datetime

import pytest

from nrr.sandbox.stripe_account import render
from nrr.sandbox.stripe_account.account import Account
from nrr.sandbox.stripe_account.clock import months_per_period
from nrr.sandbox.stripe_generator import generate_account
from tests.sandbox.reference_mrr import reference_mrr


def _truth(account: Account) -> dict[tuple[str, date], float]:
    return {(r["customer_id"], r["month"]): r["mrr"] for r in account.truth.to_pylist()}


def _month(ts: int) -> date:
    moment = datetime.fromtimestamp(ts, UTC)
    return date(moment.year, moment.month, 1)


def test_same_seed_gives_the_same_account() -> None:
    one = generate_account(120, 18, first_month=date(2024, 1, 1), seed=5)
    two = generate_account(120, 18, first_month=date(2024, 1, 1), seed=5)
    assert one.truth.equals(two.truth)
    assert one.fx_rates.equals(two.fx_rates)
    first = [json.dumps(render.invoice(i), sort_keys=True) for i in one.invoices]
    second = [json.dumps(render.invoice(i), sort_keys=True) for i in two.invoices]
    assert first == second and len(first) > 500


def test_another_seed_gives_another_account() -> None:
    one = generate_account(120, 18, first_month=date(2024, 1, 1), seed=5)
    two = generate_account(120, 18, first_month=date(2024, 1, 1), seed=6)
    assert {c.id for c in one.customers}.isdisjoint({c.id for c in two.customers})
    assert not one.truth.equals(two.truth)


def test_truth_is_what_the_stripe_objects_say(account: Account) -> None:
    """An independent reading of the served objects (tests/sandbox/reference_mrr.py)."""
    truth = _truth(account)
    reference = reference_mrr(account)
    assert len(truth) > 5000
    differing = {
        key: (truth.get(key), reference.get(key))
        for key in set(truth) | set(reference)
        if abs((truth.get(key) or 0.0) - (reference.get(key) or 0.0)) > 1e-6
    }
    assert differing == {}


def test_the_account_has_every_case_the_extractor_must_handle(account: Account) -> None:
    invoices = Counter(i.status for i in account.invoices)
    assert set(invoices) == {"draft", "open", "paid", "void", "uncollectible"}
    statuses = Counter(s.status for s in account.subscriptions)
    assert {"active", "canceled", "trialing", "past_due", "incomplete_expired"} <= set(statuses)
    cadences = {(p.interval, p.interval_count) for p in account.prices if p.type == "recurring"}
    assert {("day", 1), ("week", 1), ("month", 1), ("month", 3), ("month", 6), ("year", 1)} <= (
        cadences
    )
    assert {p.tiers_mode for p in account.prices} >= {"volume", "graduated"}
    assert any(p.usage_type == "metered" for p in account.prices)
    assert {p.currency for p in account.prices} >= {"usd", "eur", "gbp", "cad"}
    redeemed = {c.id: c for c in account.coupons if c.times_redeemed}
    assert {c.duration for c in redeemed.values()} == {"once", "repeating", "forever"}
    assert any(c.amount_off for c in redeemed.values())
    taxes = {t.behavior for i in account.invoices for line in i.lines for t in line.taxes}
    assert taxes == {"inclusive", "exclusive"}
    kinds = Counter(line.kind for i in account.invoices for line in i.lines)
    assert {"subscription", "proration", "invoiceitem"} <= set(kinds)
    assert any(len(i.lines) > render.EMBEDDED_LINES for i in account.invoices if i.subscription)
    assert account.credit_notes
    assert any(c.deleted for c in account.customers)
    reasons = Counter(s.cancellation_details["reason"] for s in account.subscriptions)
    assert reasons["payment_failed"] and reasons["cancellation_requested"]
    assert set(account.truth_churn_kind.column("churn_kind").to_pylist()) == {
        "voluntary",
        "involuntary",
    }
    channels = {c.metadata["channel"] for c in account.customers}
    assert channels == {"inbound", "outbound", "partner", "referral"}
    per_customer = Counter(
        s.customer for s in account.subscriptions if s.metadata["plan"] != "analytics"
    )
    assert max(per_customer.values()) > 1, "some churned customers come back"


def _simple_subscriptions(account: Account):
    """Subscriptions that are their customer's only one, untaxed and never changed."""
    by_customer = Counter(s.customer for s in account.subscriptions)
    changed = {
        i.subscription for i in account.invoices if i.billing_reason == "subscription_update"
    }
    for sub in account.subscriptions:
        invoices = [i for i in account.invoices if i.subscription == sub.id]
        if (
            by_customer[sub.customer] == 1
            and sub.id not in changed
            and not any(line.taxes for i in invoices for line in i.lines)
            and all(i.status != "void" for i in invoices)
            and sub.trial_start is None
            and len(sub.items) == 1
            and sub.items[0].price.usage_type == "licensed"
        ):
            yield sub, invoices


def _rate(account: Account, currency: str, month: date) -> float:
    if currency == account.reporting_currency:
        return 1.0
    label = f"{month.year:04d}-{month.month:02d}"
    rows = account.fx_rates.filter(
        [
            c == currency and m == label
            for c, m in zip(
                account.fx_rates.column("currency").to_pylist(),
                account.fx_rates.column("month").to_pylist(),
                strict=True,
            )
        ]
    ).to_pylist()
    return rows[0]["rate"]


def test_an_annual_plan_is_a_twelfth_in_each_of_its_months(account: Account) -> None:
    truth = _truth(account)
    checked = 0
    for sub, invoices in _simple_subscriptions(account):
        item = sub.items[0]
        if item.price.interval != "year" or sub.discounts or any(i.discounts for i in invoices):
            continue
        first = min(invoices, key=lambda i: i.created)
        months = [
            m
            for m in {_month(first.period_start + d * 86_400) for d in range(1, 360)}
            if (sub.customer, m) in truth or m <= _month(account.now - 86_400 * 40)
        ]
        for month in months:
            if month == _month(first.period_start) or month >= _month(first.period_end):
                continue
            if sub.ended_at is not None and month >= _month(sub.ended_at):
                continue
            expected = first.lines[0].amount / 12 / 100 * _rate(account, sub.currency, month)
            assert truth[(sub.customer, month)] == pytest.approx(expected)
            checked += 1
    assert checked > 50


def test_a_forever_twenty_percent_coupon_gives_eighty_percent(account: Account) -> None:
    truth = _truth(account)
    months, bounds = account.month_bounds()
    checked = 0
    for sub, invoices in _simple_subscriptions(account):
        if not sub.discounts or sub.discounts[0].coupon.id != "LAUNCH20":
            continue
        for invoice in invoices:
            line = invoice.lines[0]
            list_price = line.amount / months_per_period(sub.interval, sub.interval_count)
            for month, boundary in zip(months, bounds, strict=True):
                if line.period_start < boundary <= min(line.period_end, sub.ended_at or 2**40):
                    expected = 0.8 * list_price / 100 * _rate(account, sub.currency, month)
                    assert truth[(sub.customer, month)] == pytest.approx(expected, abs=0.006)
                    checked += 1
    assert checked > 20


def test_cancel_at_period_end_counts_until_the_period_really_ends(account: Account) -> None:
    truth = _truth(account)
    months, bounds = account.month_bounds()
    checked = 0
    only = Counter(s.customer for s in account.subscriptions)
    paused = {
        i.subscription
        for i in account.invoices
        if i.status == "void" and i.billing_reason == "subscription_cycle"
    }
    for sub in account.subscriptions:
        if not (sub.cancel_at_period_end and sub.status == "canceled" and only[sub.customer] == 1):
            continue
        if sub.trial_end is not None and sub.canceled_at < sub.trial_end:
            continue  # a trial that never converted never had revenue
        if sub.id in paused:
            continue  # requested while collection was paused: nothing billed to count
        for month, boundary in zip(months, bounds, strict=True):
            if sub.canceled_at < boundary - 1 < sub.ended_at:
                billed = sum(
                    line.net
                    for i in account.invoices
                    if i.subscription == sub.id and i.status != "void"
                    for line in i.lines
                    if line.period_start <= boundary - 1 < line.period_end
                )
                if billed <= 0:
                    continue  # a period discounted to nothing (e.g. 100 off once)
                assert truth.get((sub.customer, month), 0) > 0  # requested, still billing
                checked += 1
            if boundary - 1 >= sub.ended_at:
                assert (sub.customer, month) not in truth
    assert checked > 20


def test_involuntary_churn_is_marked_as_such(account: Account) -> None:
    kinds = {
        (r["customer_id"], r["month"]): r["churn_kind"]
        for r in account.truth_churn_kind.to_pylist()
    }
    only = Counter(s.customer for s in account.subscriptions)
    checked = 0
    for sub in account.subscriptions:
        reason = sub.cancellation_details["reason"]
        if only[sub.customer] != 1 or reason is None or sub.status != "canceled":
            continue
        churns = [kind for (customer, _), kind in sorted(kinds.items()) if customer == sub.customer]
        if churns:
            # the last churn is the ending; an earlier one can only be a paused collection
            expected = "involuntary" if reason == "payment_failed" else "voluntary"
            assert churns[-1] == expected
            assert set(churns[:-1]) <= {"voluntary"}
            checked += 1
    assert checked > 50


def test_fx_rates_cover_every_currency_and_month() -> None:
    account = generate_account(
        40, 6, first_month=date(2024, 1, 1), seed=2, reporting_currency="eur"
    )
    rows = account.fx_rates.to_pylist()
    assert {r["currency"] for r in rows} == {"usd", "gbp", "cad"}
    assert {r["month"] for r in rows} == {f"2024-{m:02d}" for m in range(1, 8)}
    usd = {r["month"]: r["rate"] for r in rows if r["currency"] == "usd"}
    assert usd["2024-01"] == pytest.approx(1 / 1.08, rel=1e-6)
    for row in account.truth.to_pylist():  # truth is in euros
        assert row["currency"] != "eur" or row["mrr"] == pytest.approx(row["mrr_native"])


def test_nothing_happens_after_now(account: Account) -> None:
    now = account.now
    for record in (
        *account.customers,
        *account.subscriptions,
        *account.invoices,
        *account.credit_notes,
        *account.prices,
        *account.world.events,
    ):
        assert record.created <= now
    for invoice in account.invoices:
        stamps = (
            invoice.finalized_at,
            invoice.paid_at,
            invoice.voided_at,
            invoice.marked_uncollectible_at,
        )
        assert all(stamp is None or stamp <= now for stamp in stamps)
    assert all(s.ended_at is None or s.ended_at <= now for s in account.subscriptions)


# fields that change without an event in Stripe too
SILENT = {"next_invoice_sequence", "times_redeemed"}


def _newest_event_matches_object(account: Account) -> int:
    newest = {}
    for event in sorted(account.events, key=lambda e: (e.created, e.seq)):
        newest[event.obj.id] = event
    checked = 0
    for object_id, event in newest.items():
        record = account.get(object_id)
        if record is None or event.type == "customer.deleted":
            continue
        now = render.render(record)
        then = render.event(event)["data"]["object"]
        assert {k: v for k, v in then.items() if k not in SILENT} == {
            k: v for k, v in now.items() if k not in SILENT
        }, event.type
        checked += 1
    return checked


def test_each_objects_newest_event_shows_its_current_state(account: Account) -> None:
    assert _newest_event_matches_object(account) > 200


def test_advance_moves_the_clock_and_emits_the_changes(fresh_account: Account) -> None:
    account = fresh_account
    before_now = account.now
    invoices = {i.id: i.status for i in account.invoices}
    subs = {s.id: s.status for s in account.subscriptions}
    customers = len(account.customers)
    truth_months = account.truth.column("month").to_pylist()
    account.advance(45)
    assert account.now == before_now + 45 * 86_400
    assert len(account.customers) > customers
    new_invoices = [i for i in account.invoices if i.id not in invoices]
    assert new_invoices and all(before_now < i.created <= account.now for i in new_invoices)
    changed = [i for i in account.invoices if i.id in invoices and invoices[i.id] != i.status]
    ended = [s for s in account.subscriptions if s.id in subs and subs[s.id] != s.status]
    assert changed or ended
    assert all(e.created >= account.now - 30 * 86_400 for e in account.events)
    assert any(e.created > before_now for e in account.events)
    assert max(account.truth.column("month").to_pylist()) > max(truth_months)
    assert _newest_event_matches_object(account) > 50
    reference = reference_mrr(account)
    differing = {k for k, v in _truth(account).items() if abs(v - reference.get(k, 0.0)) > 1e-6}
    assert differing == set()


def test_advance_with_a_seed_draws_another_future() -> None:
    one = generate_account(80, 12, first_month=date(2024, 1, 1), seed=4)
    two = generate_account(80, 12, first_month=date(2024, 1, 1), seed=4)
    one.advance(60, new_customers=0)
    two.advance(60, new_customers=0, seed=99)
    assert not one.truth.equals(two.truth)


def test_month_ends_follow_the_reporting_timezone_and_the_clock() -> None:
    now = datetime(2024, 9, 17, 15, 30, tzinfo=UTC)
    account = generate_account(
        200, 9, first_month=date(2024, 1, 1), seed=8, now=now, timezone="America/New_York"
    )
    months, bounds = account.month_bounds()
    assert months[-1] == date(2024, 8, 1)  # September has not ended yet
    assert datetime.fromtimestamp(bounds[0], UTC) == datetime(2024, 2, 1, 5, tzinfo=UTC)
    assert max(account.truth.column("month").to_pylist()) == date(2024, 8, 1)
    reference = reference_mrr(account)
    truth = _truth(account)
    assert set(truth) == set(reference)
    assert all(abs(truth[k] - reference[k]) < 1e-6 for k in truth)
    assert account.now == int(now.timestamp())

"""The demo-sized account (3,000 customers over 36 months, the demo's seed): every object it
serves conforms to Stripe's own definitions, it holds every billing case of metrics.md
section 1.1 that the local Stripe models, and every customer-month extracted and computed
equals its truth. The slowest test of the area (2-4 minutes on the shared machine)."""

from __future__ import annotations

from collections import Counter
from datetime import date

import pytest

from nrr.demo import DEMO_SEED
from nrr.sandbox.stripe_account import render
from nrr.sandbox.stripe_account.records import Event
from nrr.sandbox.stripe_generator import generate_account
from tests.sandbox.stripe_definitions import object_errors
from tests.stripe_source.truth_check import differences_from_truth


@pytest.mark.slow  # 3,000 customers: 2-4 minutes
def test_the_demo_sized_account_conforms_and_equals_its_truth(tmp_path):
    account = generate_account(3000, 36, first_month=date(2023, 1, 1), seed=DEMO_SEED)

    errors: Counter[str] = Counter()
    records = [
        *account.world.objects.values(),
        *account.events,
        *(line for invoice in account.invoices for line in invoice.lines),
    ]
    for record in records:
        body = render.event(record) if isinstance(record, Event) else render.render(record)
        for error in object_errors(body):
            errors[error.split(":")[0]] += 1
    assert not errors, errors.most_common(5)

    # the cases of section 1.1 the local Stripe models, in realistic proportions
    subs = account.subscriptions
    billed = {line.price.id for i in account.invoices for line in i.lines if line.price}
    cases = {
        "archived price billing": sum(
            1 for p in account.prices if not p.active and not p.inline and p.id in billed
        ),
        "inline price billing": sum(1 for p in account.prices if p.inline and p.id in billed),
        "collection paused now": sum(1 for s in subs if s.pause_collection),
        "paused and resumed": sum(
            1 for e in account.world.events
            if e.type == "customer.subscription.updated" and e.previous is not None
            and e.previous.pause_collection and not e.obj.pause_collection
        ),
        "unpaid": sum(1 for s in subs if s.status == "unpaid"),
        "uncollectible renewals": sum(
            1 for i in account.invoices
            if i.status == "uncollectible" and i.billing_reason == "subscription_cycle"
        ),
        "past_due": sum(1 for s in subs if s.status == "past_due"),
        "usage billed in arrears": sum(
            1 for s in subs if s.ended_at is None
            and any(i.price.usage_type == "metered" for i in s.items)
        ),
        "mid-period changes": sum(
            1 for i in account.invoices if i.billing_reason == "subscription_update"
        ),
        "inclusive tax": sum(
            1 for i in account.invoices for line in i.lines
            for t in line.taxes if t.behavior == "inclusive"
        ),
    }  # fmt: skip
    assert all(count > 0 for count in cases.values()), cases
    assert cases["unpaid"] < 0.02 * len(subs) and cases["collection paused now"] < 0.02 * len(subs)

    differences = differences_from_truth(account, tmp_path)
    assert {name: rows[:3] for name, rows in differences.items()} == {
        "mrr": [],
        "churn_kind": [],
        "bridge": [],
    }
    assert account.truth.num_rows > 30_000

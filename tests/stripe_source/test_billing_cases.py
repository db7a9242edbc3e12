"""One small account per billing case of metrics.md section 1.1, served by the local Stripe,
extracted and computed: every customer-month equals the generator's truth to the cent, every
churn carries the truth's kind, and the bridge reconciles.

The truth is what the simulation decided each customer pays under the contract's rules
(sandbox/stripe_account/simulation.py), not a reading of the Stripe objects.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import pytest

from nrr.sandbox.stripe_account.account import Account
from nrr.sandbox.stripe_generator import generate_account
from tests.stripe_source.truth_check import differences_from_truth


def _uncollectible(account: Account) -> bool:
    return any(
        i.status == "uncollectible" and i.billing_reason == "subscription_cycle"
        for i in account.invoices
    )


def _unpaid(account: Account) -> bool:
    staying = [s for s in account.subscriptions if s.status == "unpaid"]
    open_later = [
        i for i in account.invoices
        if i.status == "open" and any(i.subscription == s.id for s in staying)
    ]  # fmt: skip
    return len(staying) >= 2 and len(open_later) > len(staying)  # renewals left unpaid


def _paused(account: Account) -> bool:
    paused_now = [s for s in account.subscriptions if s.pause_collection]
    voided = [
        e for e in account.world.events if e.type == "invoice.voided"
    ]  # renewals voided while paused (and resumed ones: their later invoices paid)
    return bool(paused_now) and bool(voided)


def _archived_and_inline(account: Account) -> bool:
    billed = {line.price.id for i in account.invoices for line in i.lines if line.price}
    archived = {p.id for p in account.prices if not p.active and not p.inline}
    inline = {p.id for p in account.prices if p.inline}
    return bool(billed & archived) and bool(billed & inline)


def _flexible(account: Account) -> bool:
    flexible = {s.id for s in account.subscriptions if s.billing_mode == "flexible"}
    itemized = [
        line for i in account.invoices for line in i.lines
        if line.kind == "proration" and line.subscription in flexible and line.discount_amount
    ]  # fmt: skip
    return len(flexible) == len(account.subscriptions) and len(itemized) >= 2


def _decimal_quantities(account: Account) -> bool:
    return any(
        line.quantity is not None and line.quantity != int(line.quantity)
        for i in account.invoices
        for line in i.lines
    )


def _currency_options(account: Account) -> bool:
    lines = [
        line for i in account.invoices for line in i.lines
        if line.price is not None and line.currency != line.price.currency
    ]  # fmt: skip
    prorated = [line for line in lines if line.kind == "proration"]
    return len(lines) >= 20 and bool(prorated)


CASES: dict[str, tuple[dict[str, float], Callable[[Account], bool]]] = {
    # dunning ends with the invoice uncollectible (or void) and the subscription canceled
    "uncollectible": ({"payment_failure": 0.25, "unpaid": 0.0}, _uncollectible),
    # dunning ends with status unpaid; half stay unpaid, their renewals left open
    "unpaid": ({"payment_failure": 0.25, "unpaid": 0.8, "stay_unpaid": 0.7}, _unpaid),
    # collection paused (void) for 1-3 months, then resumed
    "pause_collection": ({"pause": 0.25}, _paused),
    # every subscription in billing_mode=flexible: prorations itemize their discounts
    "flexible_billing": ({"flexible": 1.0, "coupon": 0.9}, _flexible),
    # the repriced Starter plan is one usd price sold in eur, gbp and cad (currency_options)
    "currency_options": ({"flexible": 0.0}, _currency_options),
    # storage usage measured in tenths of a GB (quantity_decimal)
    "decimal_quantities": ({}, _decimal_quantities),
    # archived list prices still billing, inline enterprise prices
    "archived_and_inline_prices": ({}, _archived_and_inline),
}


@pytest.mark.slow  # seven small accounts extracted and computed
@pytest.mark.parametrize("case", sorted(CASES))
def test_each_billing_case_gives_the_truth(tmp_path, case):
    emphasis, present = CASES[case]
    account = generate_account(160, 20, first_month=date(2024, 1, 1), seed=31, emphasis=emphasis)
    assert present(account), f"the account does not exercise {case}"
    differences = differences_from_truth(account, tmp_path)
    assert differences == {"mrr": [], "churn_kind": [], "bridge": []}
    assert account.truth.num_rows > 500

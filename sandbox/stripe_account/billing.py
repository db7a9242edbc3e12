"""Invoice arithmetic: discounts, taxes and totals, in integer cents like Stripe.

Choices (documented in docs/local-stripe.md): a percent discount is computed per line and
rounded half up; an amount-off discount is spread over the discountable lines in proportion
to their amounts (largest remainders get the leftover cents); tax is computed per line on
the amount after discount (exclusive: on top; inclusive: the part of the amount that is tax).
"""

from __future__ import annotations

import math

from nrr.sandbox.stripe_account.records import Discount, Invoice, InvoiceLine, TaxAmount, TaxRate


def round_half_up(value: float) -> int:
    return math.floor(abs(value) + 0.5) * (1 if value >= 0 else -1)


def percent_of(amount: int, percent: float) -> int:
    return round_half_up(amount * percent / 100.0)


def apply_discount(lines: list[InvoiceLine], discount: Discount | None, currency: str) -> None:
    """Set `discount` and `discount_amount` on the discountable lines."""
    if discount is None:
        return
    targets = [line for line in lines if line.discountable and line.amount > 0]
    if not targets:
        return
    coupon = discount.coupon
    if coupon.percent_off is not None:
        for line in targets:
            line.discount = discount
            line.discount_amount = percent_of(line.amount, coupon.percent_off)
        return
    amount_off = coupon.amount_off_in(currency) or 0
    base = sum(line.amount for line in targets)
    total = min(amount_off, base)
    shares = [total * line.amount / base for line in targets]
    floors = [math.floor(share) for share in shares]
    leftover = total - sum(floors)
    order = sorted(range(len(targets)), key=lambda i: (floors[i] - shares[i], i))
    for i in order[:leftover]:
        floors[i] += 1
    for line, amount in zip(targets, floors, strict=True):
        line.discount = discount
        line.discount_amount = amount


def line_tax(net: int, rate: TaxRate) -> TaxAmount:
    """Tax of one line whose amount after discount is `net`."""
    fraction = rate.percentage / 100.0
    if rate.inclusive:
        amount = round_half_up(net * fraction / (1 + fraction))
        return TaxAmount(amount, "inclusive", rate, net - amount)
    return TaxAmount(round_half_up(net * fraction), "exclusive", rate, net)


def apply_taxes(lines: list[InvoiceLine], rate: TaxRate | None) -> None:
    if rate is None:
        return
    for line in lines:
        line.taxes = [line_tax(line.net, rate)]


def recurring_net(
    amount: int, discount: Discount | None, rate: TaxRate | None, currency: str
) -> int:
    """What one full period of a licensed item brings after discount and tax, in cents.

    Used for the revenue of a subscription after a mid-cycle change (see the truth rules):
    the same arithmetic a renewal invoice of that single item would do.
    """
    line = InvoiceLine(
        id="",
        invoice="",
        amount=amount,
        currency=currency,
        description="",
        period_start=0,
        period_end=0,
        price=None,
        quantity=None,
        kind="subscription",
    )
    apply_discount([line], discount, currency)
    apply_taxes([line], rate)
    return line.net - line.inclusive_tax


def total_invoice(invoice: Invoice) -> None:
    subtotal = discount = exclusive = inclusive = 0
    ids: list[str] = []
    for line in invoice.lines:
        subtotal += line.amount
        discount += line.discount_amount
        for tax in line.taxes:
            if tax.behavior == "inclusive":
                inclusive += tax.amount
            else:
                exclusive += tax.amount
        if line.discount is not None and line.discount.id not in ids:
            ids.append(line.discount.id)
    invoice.subtotal = subtotal
    invoice.total_discount = discount
    invoice.exclusive_tax = exclusive
    invoice.inclusive_tax = inclusive
    invoice.total = subtotal - discount + exclusive
    invoice.amount_due = max(0, invoice.total + invoice.starting_balance)
    invoice.discounts = ids

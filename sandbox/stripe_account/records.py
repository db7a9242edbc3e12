"""The simulation's objects, one small mutable record per Stripe object.

Records hold state only (the numerous ones use slots; the ones events snapshot keep a
`__dict__`, which copies fastest); `render.py` turns them into the API's JSON shapes. Events keep a
shallow copy of a record as it was when the event happened, so the rule is copy-on-write:
a list or dict field of a record is replaced, never changed in place, once the record is
visible (ids of related objects, not records, are stored where Stripe shows ids).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any


@dataclass
class Product:
    id: str
    name: str
    created: int
    description: str | None = None
    unit_label: str | None = None
    default_price: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    active: bool = True


@dataclass(slots=True)
class Price:
    id: str
    product: str
    currency: str
    created: int
    type: str  # recurring | one_time
    billing_scheme: str = "per_unit"  # per_unit | tiered
    unit_amount: int | None = None
    unit_amount_decimal: str | None = None
    tiers_mode: str | None = None  # volume | graduated
    tiers: list[dict[str, Any]] | None = None  # up_to, unit_amount, flat_amount
    interval: str | None = None
    interval_count: int = 1
    usage_type: str = "licensed"  # licensed | metered
    meter: str | None = None
    tax_behavior: str = "exclusive"
    lookup_key: str | None = None
    nickname: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    active: bool = True
    inline: bool = False  # created with `price_data`: never listed, only referenced
    # other currencies this price is sold in: currency -> unit amount (`currency_options`)
    currency_options: dict[str, int] = field(default_factory=dict)
    generation: int = 0  # list prices: 1 after the repricing (the old ones are archived)


@dataclass(slots=True)
class Coupon:
    id: str
    name: str
    created: int
    duration: str  # once | repeating | forever
    duration_in_months: int | None = None
    percent_off: float | None = None
    amount_off: int | None = None
    currency: str | None = None
    currency_options: dict[str, int] = field(default_factory=dict)
    times_redeemed: int = 0
    metadata: dict[str, str] = field(default_factory=dict)

    def amount_off_in(self, currency: str) -> int | None:
        if self.amount_off is None:
            return None
        if currency == self.currency:
            return self.amount_off
        return self.currency_options.get(currency)


@dataclass(slots=True)
class TaxRate:
    id: str
    display_name: str
    percentage: float
    inclusive: bool
    country: str
    created: int
    state: str | None = None
    jurisdiction: str | None = None
    tax_type: str = "vat"


@dataclass
class Customer:
    id: str
    created: int
    name: str
    email: str
    address: dict[str, str | None]
    metadata: dict[str, str]
    invoice_prefix: str
    currency: str | None = None
    balance: int = 0
    deleted: bool = False
    deleted_at: int | None = None
    tax_exempt: str = "none"
    next_invoice_sequence: int = 1
    delinquent: bool = False
    description: str | None = None


@dataclass
class Discount:
    id: str
    coupon: Coupon
    customer: str
    subscription: str | None
    start: int
    end: int | None
    used: bool = False  # a `once` discount is spent by its first invoice


@dataclass
class SubscriptionItem:
    id: str
    subscription: str
    price: Price
    quantity: int | None
    created: int
    current_period_start: int
    current_period_end: int
    metadata: dict[str, str] = field(default_factory=dict)
    deleted: bool = False


@dataclass
class Subscription:
    id: str
    customer: str
    created: int
    currency: str
    interval: str
    interval_count: int
    billing_cycle_anchor: int
    items: list[SubscriptionItem]
    status: str = "active"
    start_date: int = 0
    trial_start: int | None = None
    trial_end: int | None = None
    cancel_at_period_end: bool = False
    cancel_at: int | None = None
    canceled_at: int | None = None
    ended_at: int | None = None
    cancellation_details: dict[str, str | None] = field(
        default_factory=lambda: {"comment": None, "feedback": None, "reason": None}
    )
    discounts: list[Discount] = field(default_factory=list)
    default_tax_rates: list[TaxRate] = field(default_factory=list)
    latest_invoice: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    description: str | None = None
    pause_collection: dict[str, Any] | None = None  # {"behavior", "resumes_at"}
    billing_mode: str = "classic"  # classic | flexible

    def snapshot(self) -> Subscription:
        clone = _clone(self)
        clone.items = [_clone(item) for item in self.items]
        return clone


@dataclass(slots=True)
class TaxAmount:
    amount: int
    behavior: str
    rate: TaxRate
    taxable_amount: int


@dataclass(slots=True)
class InvoiceLine:
    id: str
    invoice: str
    amount: int
    currency: str
    description: str
    period_start: int
    period_end: int
    price: Price | None
    quantity: int | Decimal | None  # decimal: usage measured in fractions
    kind: str  # subscription | proration | invoiceitem
    subscription: str | None = None
    subscription_item: str | None = None
    invoice_item: str | None = None
    discountable: bool = True
    discount: Discount | None = None
    discount_amount: int = 0
    taxes: list[TaxAmount] = field(default_factory=list)
    credited_lines: list[str] | None = None
    credited_invoice: str | None = None
    unit_amount_decimal: str | None = None

    @property
    def net(self) -> int:
        """Amount after discounts, before exclusive tax (inclusive tax still inside)."""
        return self.amount - self.discount_amount

    @property
    def inclusive_tax(self) -> int:
        return sum(t.amount for t in self.taxes if t.behavior == "inclusive")

    @property
    def exclusive_tax(self) -> int:
        return sum(t.amount for t in self.taxes if t.behavior == "exclusive")


@dataclass
class Invoice:
    id: str
    customer: Customer
    created: int
    currency: str
    billing_reason: str
    lines: list[InvoiceLine]
    period_start: int
    period_end: int
    subscription: str | None = None
    status: str = "draft"
    number: str | None = None
    collection_method: str = "charge_automatically"
    due_date: int | None = None
    finalized_at: int | None = None
    paid_at: int | None = None
    voided_at: int | None = None
    marked_uncollectible_at: int | None = None
    attempt_count: int = 0
    attempted: bool = False
    next_payment_attempt: int | None = None
    amount_paid: int = 0
    starting_balance: int = 0
    ending_balance: int | None = None
    discounts: list[str] = field(default_factory=list)
    post_payment_credit_notes_amount: int = 0
    pre_payment_credit_notes_amount: int = 0
    description: str | None = None
    # totals, filled by billing.total_invoice
    subtotal: int = 0
    total_discount: int = 0
    exclusive_tax: int = 0
    inclusive_tax: int = 0
    total: int = 0
    amount_due: int = 0

    def snapshot(self) -> Invoice:
        return _clone(self)


@dataclass(slots=True)
class CreditNoteLine:
    id: str
    invoice_line: str
    amount: int
    description: str
    tax: TaxAmount | None


@dataclass
class CreditNote:
    id: str
    number: str
    invoice: str
    customer: str
    created: int
    currency: str
    reason: str | None  # one of Stripe's CreditNote.reason values, or none given
    subtotal: int
    total: int
    lines: list[CreditNoteLine]
    refund: str | None
    type: str = "post_payment"
    status: str = "issued"
    memo: str | None = None
    customer_balance_transaction: str | None = None

    def snapshot(self) -> CreditNote:
        return _clone(self)


@dataclass(slots=True)
class Event:
    id: str
    type: str
    created: int
    seq: int
    obj: Any  # snapshot of the record after the change
    previous: Any = None  # snapshot before the change, for *.updated events


def _clone(record: Any) -> Any:
    """A shallow copy, faster than copy.copy for these plain dataclasses."""
    clone = object.__new__(type(record))
    clone.__dict__.update(record.__dict__)
    return clone


def snapshot(record: Any) -> Any:
    method = getattr(record, "snapshot", None)
    if method is not None:
        return method()
    return _clone(record) if hasattr(record, "__dict__") else copy.copy(record)

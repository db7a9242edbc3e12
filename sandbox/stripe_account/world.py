"""The shared state every customer simulation writes into: objects, events and revenue.

`Segment` is the ground truth's raw material: a stretch of time during which one item of
one subscription brings a fixed monthly amount (cents of the customer's currency, after
discount, without tax). The simulation records a segment when it decides what a customer
pays, and shortens or drops it when the subscription changes, ends or an invoice is voided.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from nrr.sandbox.stripe_account.catalog import Catalog
from nrr.sandbox.stripe_account.ids import IdFactory
from nrr.sandbox.stripe_account.records import (
    CreditNote,
    Customer,
    Discount,
    Event,
    Invoice,
    Subscription,
    snapshot,
)

EVENT_RETENTION_SECONDS = 30 * 86_400  # Stripe keeps events for 30 days


@dataclass(slots=True)
class Segment:
    start: int
    end: int
    monthly_cents: float
    subscription: str
    invoice: str
    metered: bool = False
    live: bool = True


@dataclass
class World:
    """Everything generated so far; customer simulations append to it."""

    seed: int
    ids: IdFactory
    catalog: Catalog
    horizon: int  # events before this instant are not kept (outside the retention window)
    customers: list[Customer] = field(default_factory=list)
    subscriptions: list[Subscription] = field(default_factory=list)
    invoices: list[Invoice] = field(default_factory=list)
    credit_notes: list[CreditNote] = field(default_factory=list)
    discounts: list[Discount] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    objects: dict[str, Any] = field(default_factory=dict)
    # rates the simulation draws from, overridden by name (small accounts that exercise
    # one billing case: `generate_account(..., emphasis={"pause": 0.3})`)
    emphasis: dict[str, float] = field(default_factory=dict)
    emitted: int = 0  # events ever emitted: their order, even after old ones are pruned

    def add(self, record: Any, store: list[Any]) -> None:
        store.append(record)
        self.objects[record.id] = record

    def before(self, when: int, record: Any) -> Any:
        """Snapshot of `record` before a change at `when`, if an event will need it."""
        return snapshot(record) if when >= self.horizon else None

    def emit(self, kind: str, when: int, record: Any, previous: Any = None) -> None:
        if when < self.horizon:
            return
        self.emitted += 1
        self.events.append(
            Event(
                id=self.ids.new("evt"),
                type=kind,
                created=when,
                seq=self.emitted,
                obj=snapshot(record),
                previous=previous,
            )
        )

"""A synthetic Stripe account: its objects, its clock, its ground truth, and `advance`."""

from __future__ import annotations

import random
import threading
from collections.abc import Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pyarrow as pa

from nrr.sandbox.ledger_generator import write_ledger
from nrr.sandbox.stripe_account.catalog import Catalog
from nrr.sandbox.stripe_account.clock import DAY, month_label, month_start, to_datetime, ts
from nrr.sandbox.stripe_account.fx import reporting_rates
from nrr.sandbox.stripe_account.ids import IdFactory
from nrr.sandbox.stripe_account.records import (
    Coupon,
    CreditNote,
    Customer,
    Event,
    Invoice,
    Price,
    Product,
    Subscription,
    SubscriptionItem,
    TaxRate,
)
from nrr.sandbox.stripe_account.simulation import CustomerSim
from nrr.sandbox.stripe_account.truth import truth_tables
from nrr.sandbox.stripe_account.world import EVENT_RETENTION_SECONDS, World


class Account:
    """Everything a local Stripe serves, plus what the numbers should be.

    Read `truth` (customer_id, month, mrr, currency, mrr_native), `truth_churn_kind`
    (customer_id, month, churn_kind) and `fx_rates` (currency, rate, month) as pyarrow
    tables. `now` is the account's clock (Unix seconds): no object is created after it.
    """

    def __init__(
        self,
        *,
        seed: int,
        first_month: date,
        reporting_currency: str,
        timezone: str,
        start: int,
        now: int,
        emphasis: dict[str, float] | None = None,
    ) -> None:
        self.seed = seed
        self.first_month = date(first_month.year, first_month.month, 1)
        self.reporting_currency = reporting_currency.lower()
        self.timezone = timezone
        self.start = start
        self.now = now
        # the API version events are rendered in (None: the pinned one); an account pinned
        # to an older version sends older shapes in its events (render.OLDER_API_VERSION)
        self.events_api_version: str | None = None
        self.lock = threading.RLock()
        self.version = 0
        self.advances = 0
        ids = IdFactory(seed)
        objects: dict[str, Any] = {}
        self.catalog = Catalog(ids, start - 30 * DAY, objects)
        self.world = World(
            seed=seed,
            ids=ids,
            catalog=self.catalog,
            horizon=now - EVENT_RETENTION_SECONDS,
            objects=objects,
            emphasis=dict(emphasis or {}),
        )
        self.catalog.on_create = self.world.emit
        # list prices change a little past the middle of the simulated span (catalog.py)
        self.catalog.repricing_at = start + (int(0.55 * (now - start)) // DAY) * DAY
        self.sims: list[CustomerSim] = []
        self._tables: tuple[pa.Table, pa.Table] | None = None

    # ---- simulation -------------------------------------------------------------------
    def add_customers(self, arrivals: Sequence[int]) -> None:
        for arrival in sorted(arrivals):
            self.sims.append(CustomerSim(self.world, len(self.sims), arrival))

    def run(self) -> None:
        for sim in self.sims:
            sim.run_until(self.now)
        self.catalog.archive_due(self.now, self.world.emit)
        self._tables = None
        self.version += 1

    def advance(
        self, days: float, *, seed: int | None = None, new_customers: int | None = None
    ) -> None:
        """Move the clock forward: new customers, renewals, payments, cancellations...

        Every change emits its events. With `seed=None` the account lives the future its
        own seed holds (same as generating with a later `now`); a seed draws another one.
        `new_customers` defaults to the account's average arrival rate.
        """
        if days <= 0:
            raise ValueError(f"advance needs a positive number of days, got {days}")
        with self.lock:
            self.advances += 1
            old_now = self.now
            new_now = old_now + int(days * DAY)
            rng = random.Random(self.seed * 31 + self.advances)
            if new_customers is None:
                rate = len(self.sims) / max(1, old_now - self.start)
                new_customers = round(rate * (new_now - old_now))
            if seed is not None:
                for sim in self.sims:
                    sim.reseed(seed * 7_777 + self.advances)
            self.add_customers(
                [
                    old_now + 1 + int(rng.random() * (new_now - old_now - 1))
                    for _ in range(new_customers)
                ]
            )
            self.now = new_now
            self.world.horizon = new_now - EVENT_RETENTION_SECONDS
            self.world.events = [e for e in self.world.events if e.created >= self.world.horizon]
            self.run()

    # ---- objects ------------------------------------------------------------------------
    @property
    def now_datetime(self) -> datetime:
        return to_datetime(self.now)

    @property
    def customers(self) -> list[Customer]:
        return self.world.customers

    @property
    def products(self) -> list[Product]:
        return list(self.catalog.products.values())

    @property
    def prices(self) -> list[Price]:
        return self.catalog.prices

    @property
    def coupons(self) -> list[Coupon]:
        return list(self.catalog.coupons.values())

    @property
    def tax_rates(self) -> list[TaxRate]:
        return list(self.catalog.tax_rates.values())

    @property
    def subscriptions(self) -> list[Subscription]:
        return self.world.subscriptions

    @property
    def invoices(self) -> list[Invoice]:
        return self.world.invoices

    @property
    def credit_notes(self) -> list[CreditNote]:
        return self.world.credit_notes

    @property
    def events(self) -> list[Event]:
        """Events inside Stripe's 30-day retention window."""
        horizon = self.now - EVENT_RETENTION_SECONDS
        return [e for e in self.world.events if e.created >= horizon]

    def get(self, object_id: str) -> Any:
        """Any object by id (customers, prices, invoices, discounts, coupons...), or None."""
        found = self.world.objects.get(object_id)
        if isinstance(found, SubscriptionItem):  # items are copied on change: take the live one
            sub = self.world.objects[found.subscription]
            live = [item for item in sub.items if item.id == object_id]
            return live[0] if live else None
        return found

    # ---- ground truth -------------------------------------------------------------------
    def month_bounds(self) -> tuple[list[date], list[int]]:
        """Months whose end is at or before `now`, and the first instant after each."""
        zone = ZoneInfo(self.timezone)
        months, bounds = [], []
        offset = 0
        while True:
            nxt = month_start(self.first_month, offset + 1)
            boundary = int(datetime(nxt.year, nxt.month, 1, tzinfo=zone).timestamp())
            if boundary > self.now:
                return months, bounds
            months.append(month_start(self.first_month, offset))
            bounds.append(boundary)
            offset += 1

    def _rates(self, months: int) -> dict[str, list[float]]:
        return reporting_rates(self.seed, months, self.reporting_currency)

    def _truth_pair(self) -> tuple[pa.Table, pa.Table]:
        with self.lock:
            if self._tables is None:
                months, bounds = self.month_bounds()
                self._tables = truth_tables(
                    self.sims, months, bounds, self._rates(max(1, len(months)))
                )
            return self._tables

    @property
    def truth(self) -> pa.Table:
        return self._truth_pair()[0]

    @property
    def truth_churn_kind(self) -> pa.Table:
        return self._truth_pair()[1]

    @property
    def fx_rates(self) -> pa.Table:
        """currency, rate (reporting units per unit), month YYYY-MM, up to now's month."""
        count = len(self.month_bounds()[0]) + 1
        rates = self._rates(count)
        rows: tuple[list[str], list[float], list[str]] = ([], [], [])
        for currency in sorted(rates):
            if currency == self.reporting_currency:
                continue
            for k, rate in enumerate(rates[currency]):
                rows[0].append(currency)
                rows[1].append(rate)
                rows[2].append(month_label(month_start(self.first_month, k)))
        return pa.table({"currency": rows[0], "rate": rows[1], "month": rows[2]})

    def write_fx_rates(self, path: Path) -> Path:
        return write_ledger(self.fx_rates, Path(path))

    def write_truth(self, path: Path) -> Path:
        return write_ledger(self.truth, Path(path))

    def summary(self) -> dict[str, int]:
        return {
            "customers": len(self.customers),
            "subscriptions": len(self.subscriptions),
            "invoices": len(self.invoices),
            "invoice_lines": sum(len(i.lines) for i in self.invoices),
            "credit_notes": len(self.credit_notes),
            "prices": len(self.prices),
            "events": len(self.events),
        }


def generate_account(
    customers: int,
    months: int = 36,
    *,
    first_month: date = date(2023, 1, 1),
    seed: int = 7,
    reporting_currency: str = "usd",
    now: datetime | None = None,
    timezone: str = "UTC",
    emphasis: dict[str, float] | None = None,
) -> Account:
    """Simulate `customers` customers arriving from `first_month` until `now`.

    `now` defaults to the first instant after `months` calendar months (UTC), so the truth
    covers exactly `months` month ends. `emphasis` overrides probabilities of the model by
    name (`pause`, `unpaid`, `stay_unpaid`, `payment_failure`...), for small accounts that
    exercise one billing case.
    """
    if customers < 0 or months < 1:
        raise ValueError("customers must be >= 0 and months >= 1")
    start = ts(date(first_month.year, first_month.month, 1))
    end = ts(month_start(first_month, months)) if now is None else ts(now)
    if end <= start:
        raise ValueError(f"now ({to_datetime(end)}) must be after first_month ({first_month})")
    account = Account(
        seed=seed,
        first_month=first_month,
        reporting_currency=reporting_currency,
        timezone=timezone,
        start=start,
        now=end,
        emphasis=emphasis,
    )
    rng = random.Random(seed)
    span = end - start
    account.add_customers([start + int(rng.random() ** 0.7 * span) for _ in range(customers)])
    account.run()
    return account

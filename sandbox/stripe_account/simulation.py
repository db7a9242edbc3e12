"""One customer's life in Stripe, as a small discrete-event simulation.

Each customer has its own queue of timed actions (renewals, payment attempts, cancellation
requests, plan changes...) and its own random stream, so customers are independent, the
result does not depend on where `run_until` stops, and an account can be advanced later.
Every decision about what a customer pays is also written as a revenue `Segment` (see
world.py): that, not the Stripe objects, is where the ground truth comes from.
"""

from __future__ import annotations

import heapq
import math
import random
from dataclasses import dataclass, field
from decimal import Decimal

from nrr.sandbox.stripe_account import billing
from nrr.sandbox.stripe_account.catalog import REGIONS, price_amount
from nrr.sandbox.stripe_account.clock import DAY, HOUR, months_per_period, period_bound
from nrr.sandbox.stripe_account.people import Profile
from nrr.sandbox.stripe_account.records import (
    CreditNote,
    CreditNoteLine,
    Customer,
    Discount,
    Invoice,
    InvoiceLine,
    Price,
    Subscription,
    SubscriptionItem,
    TaxAmount,
    snapshot,
)
from nrr.sandbox.stripe_account.world import Segment, World

MONTH = 30.4375 * DAY
# monthly probabilities by segment: SMB, Mid-Market, Enterprise
CANCEL = {"SMB": 0.022, "Mid-Market": 0.010, "Enterprise": 0.004}
PAYMENT_FAILURE = {"SMB": 0.03, "Mid-Market": 0.02, "Enterprise": 0.01}
UPGRADE = {"SMB": 0.02, "Mid-Market": 0.03, "Enterprise": 0.035}
DOWNGRADE = 0.01
ENTERPRISE_UPLIFT = 0.5  # share of enterprise contracts renewing at a higher price each year
ADD_ON = 0.008
TRIAL = {"SMB": 0.35, "Mid-Market": 0.15, "Enterprise": 0.0}
TRIAL_CONVERSION = 0.75
COUPON_AT_START = 0.25
RECOVERY = 0.6  # share of failed payments recovered by a retry
REACTIVATION = 0.35
DELETION = 0.12
ONE_OFF_PER_MONTH = {"SMB": 0.0, "Mid-Market": 0.03, "Enterprise": 0.06}
SECONDARY = {"SMB": 0.0, "Mid-Market": 0.10, "Enterprise": 0.15}
CREDIT_NOTE = 0.03
INCOMPLETE = 0.02  # first payment fails: incomplete, then incomplete_expired
PAUSE = 0.004  # monthly plans without usage: collection paused for 1-3 months, then resumed
FLEXIBLE = 0.25  # subscriptions created with billing_mode=flexible (prorations itemized)
STAY_UNPAID = 0.5  # subscriptions marked unpaid that stay so (the rest are canceled later)


def _unit_decimal(price: Price | None, currency: str) -> str | None:
    """The unit amount a line shows: the price's, or its `currency_options` one."""
    if price is None:
        return None
    if currency in price.currency_options:
        return str(price.currency_options[currency])
    return price.unit_amount_decimal


def per_period(monthly: float, months: float) -> float:
    return 1.0 - (1.0 - monthly) ** max(months, 1e-9)


@dataclass(slots=True)
class SubState:
    """What the simulation knows about a subscription beyond its Stripe record."""

    main: bool
    plan: str
    index: int = 0  # current period number
    period_start: int = 0
    period_end: int = 0
    token: int = 0  # bumps when scheduled actions of the old plan must be ignored
    open_segments: list[Segment] = field(default_factory=list)
    usage_base: dict[str, float] = field(default_factory=dict)  # price id -> usage units
    pending: list[tuple[str, object]] = field(default_factory=list)  # changes at renewal
    trial: bool = False
    will_convert: bool = True
    kind: str | None = None  # voluntary | involuntary once it ended
    period_discount: str | None = None  # discount id on the current period's invoice
    debits: dict[str, tuple[str, str]] = field(default_factory=dict)  # item -> (invoice, line)


class CustomerSim:
    """Runs one customer forward in time; `run_until(t)` processes actions up to `t`."""

    def __init__(self, world: World, index: int, arrival: int) -> None:
        self.w = world
        self.index = index
        self.rng = random.Random(world.seed * 1_000_003 + index)
        self.queue: list[tuple[int, int, str, tuple]] = []
        self.seq = 0
        self.customer: Customer | None = None
        self.profile: Profile | None = None
        self.segments: list[Segment] = []
        self.subs: dict[str, tuple[Subscription, SubState]] = {}
        self.churned_at: int | None = None
        self.ever_paid = False
        self.push(arrival, "arrive")

    # ---- machinery -----------------------------------------------------------------------
    def rate(self, name: str, default: float) -> float:
        """A probability of the model, unless the account overrides it (World.emphasis)."""
        return self.w.emphasis.get(name, default)

    def push(self, when: int, action: str, *args: object) -> None:
        self.seq += 1
        heapq.heappush(self.queue, (when, self.seq, action, args))

    def reseed(self, seed: int) -> None:
        self.rng = random.Random(seed * 1_000_003 + self.index)

    def run_until(self, now: int) -> None:
        while self.queue and self.queue[0][0] <= now:
            when, _, action, args = heapq.heappop(self.queue)
            getattr(self, "_" + action)(when, *args)

    # ---- arrival and subscriptions -------------------------------------------------------
    def _arrive(self, t: int) -> None:
        w, rng = self.w, self.rng
        profile = self.profile = Profile(rng, w.catalog, self.index)
        self.customer = Customer(
            id=w.ids.new("cus"),
            created=t,
            name=profile.name,
            email=profile.email,
            address=profile.address,
            tax_exempt=profile.tax_exempt,
            metadata={
                "channel": profile.channel,
                "segment_at_signup": profile.segment,
                "crm_id": f"acct-{self.index:06d}",
            },
            invoice_prefix=f"{self.index:08X}"[-8:],
        )
        w.add(self.customer, w.customers)
        w.emit("customer.created", t, self.customer)
        if rng.random() < 0.04:
            return  # a lead that never subscribes
        self.push(t + rng.randint(60, 3 * DAY), "subscribe", True)
        rate = ONE_OFF_PER_MONTH[profile.segment]
        if rate:
            self.push(t + int(rng.expovariate(rate) * MONTH), "one_off")
        if rng.random() < SECONDARY[profile.segment]:
            self.push(t + int(rng.uniform(1, 18) * MONTH), "subscribe", False)

    def _choose_plan(self, main: bool, t: int) -> tuple[str, str, int, list[tuple[str, int]]]:
        """(plan, interval, interval_count, [(price key, quantity)])."""
        rng, segment = self.rng, self.profile.segment
        if not main:
            interval = "year" if rng.random() < 0.3 else "month"
            return "analytics", interval, 1, [("analytics", 1)]
        if segment == "SMB":
            r = rng.random()
            if r < 0.04:
                return "starter", "week", 1, [("starter", rng.randint(1, 4))]
            if r < 0.05:
                return "starter", "day", 1, [("starter", rng.randint(1, 3))]
            if r < 0.60:
                interval = "year" if rng.random() < 0.3 else "month"
                return "starter", interval, 1, [("starter", rng.randint(1, 8))]
            cadence = rng.choices([("month", 1), ("month", 3), ("year", 1)], [60, 10, 30])[0]
            seats = max(3, int(rng.lognormvariate(math.log(9), 0.6)))
            items = [("team", seats)]
            return "team", *cadence, self._with_metered(items, cadence, 0.2)
        if segment == "Mid-Market":
            cadence = rng.choices(
                [("month", 1), ("month", 3), ("month", 6), ("year", 1)], [40, 15, 10, 35]
            )[0]
            seats = max(12, int(rng.lognormvariate(math.log(35), 0.6)))
            items = [("business", seats)]
            if rng.random() < 0.3:
                items.append(("sso", 1))
            if rng.random() < 0.2:
                quantity = rng.randint(1, 5)
                if not self.w.catalog.retired("workspaces", t):
                    items.append(("workspaces", quantity))
            return "business", *cadence, self._with_metered(items, cadence, 0.3)
        cadence = rng.choices([("year", 1), ("month", 6), ("month", 3)], [70, 20, 10])[0]
        items = [("enterprise", 1)]
        if rng.random() < 0.5:
            items.append(("business", rng.randint(50, 400)))
        if rng.random() < 0.7:
            items.append(("sso", 1))
        if rng.random() < 0.5:
            items.append(("support", 1))
        if rng.random() < 0.15:  # many items: invoices longer than one page of lines
            items += [(f"region_{r}", 1) for r in rng.sample(REGIONS, rng.randint(9, 14))]
        return "enterprise", *cadence, items

    def _with_metered(
        self, items: list[tuple[str, int]], cadence: tuple[str, int], share: float
    ) -> list[tuple[str, int]]:
        if cadence == ("month", 1) and self.rng.random() < share:
            items.append(("api_calls" if self.rng.random() < 0.7 else "storage", 0))
        return items

    def _price(self, key: str, interval: str, count: int, t: int) -> Price:
        currency = self.profile.currency
        if key == "enterprise":
            yearly = self.rng.lognormvariate(math.log(160_000), 0.45) * 100
            amount = round(yearly * months_per_period(interval, count) / 12 / 100) * 100
            return self.w.catalog.custom(
                "enterprise",
                amount,
                interval,
                count,
                currency,
                t,
                nickname=f"Enterprise contract - {self.customer.name}",
            )
        return self.w.catalog.recurring(key, interval, count, currency, t)

    def _subscribe(self, t: int, main: bool) -> None:
        w, rng, customer = self.w, self.rng, self.customer
        if customer.deleted or (main and self._active_main()):
            return
        if not main and not self._active_main():
            return
        plan, interval, count, wanted = self._choose_plan(main, t)
        sub_id = w.ids.new("sub")
        items = []
        for key, quantity in wanted:
            price = self._price(key, interval, count, t)
            metered = price.usage_type == "metered"
            items.append(
                SubscriptionItem(
                    id=w.ids.new("si"),
                    subscription=sub_id,
                    price=price,
                    quantity=None if metered else quantity,
                    created=t,
                    current_period_start=t,
                    current_period_end=t,
                )
            )
        for item in items:
            w.objects[item.id] = item
        state = SubState(main=main, plan=plan)
        for item in items:
            if item.price.usage_type == "metered":
                base = 3000.0 if item.price.meter == "mtr_api_calls" else 400.0
                state.usage_base[item.price.id] = rng.lognormvariate(math.log(base), 0.8)
        sub = Subscription(
            id=sub_id,
            customer=customer.id,
            created=t,
            start_date=t,
            currency=self.profile.currency,
            interval=interval,
            interval_count=count,
            billing_cycle_anchor=t,
            items=items,
            status="active",
            default_tax_rates=[self.profile.tax_rate] if self.profile.tax_rate else [],
            metadata={"plan": plan},
            billing_mode="flexible"
            if rng.random() < self.rate("flexible", FLEXIBLE)
            else "classic",
        )
        has_metered = bool(state.usage_base)
        trial_p = TRIAL[self.profile.segment] if main and not has_metered else 0.0
        if interval in ("day", "week"):
            trial_p = 0.0
        if rng.random() < trial_p:
            state.trial = True
            state.will_convert = rng.random() < TRIAL_CONVERSION
            sub.trial_start = t
            sub.trial_end = t + (14 if rng.random() < 0.6 else 30) * DAY
            sub.billing_cycle_anchor = sub.trial_end
            sub.status = "trialing"
        if rng.random() < self.rate("coupon", COUPON_AT_START):
            coupon = self._pick_coupon(sub, has_metered, t)
            if coupon is not None:
                sub.discounts = [self._discount(coupon, sub, t)]
        w.add(sub, w.subscriptions)
        self.subs[sub.id] = (sub, state)
        if customer.currency is None:
            before = w.before(t, customer)
            customer.currency = self.profile.currency
            w.emit("customer.updated", t, customer, before)
        if state.trial:
            self._set_period(sub, state, t, sub.trial_end)
            invoice = self._invoice(sub, t, "subscription_create", t, sub.trial_end, trial=True)
            w.emit("customer.subscription.created", t, sub)
            self._finalize_now(invoice, t, pay=True)
            self.push(sub.trial_end - 3 * DAY, "trial_will_end", sub.id)
            if not state.will_convert:
                self.push(
                    t + rng.randint(DAY, sub.trial_end - t - HOUR),
                    "cancel_request",
                    sub.id,
                    state.token,
                    False,
                )
            self.push(sub.trial_end, "renew", sub.id)
            return
        state.index = 0
        self._set_period(sub, state, t, self._bound(sub, 1))
        invoice = self._invoice(sub, t, "subscription_create", t, state.period_end)
        if main and rng.random() < self.rate("incomplete", INCOMPLETE):
            sub.status = "incomplete"
            w.emit("customer.subscription.created", t, sub)
            self._finalize_now(invoice, t, pay=False)
            self.push(t + 23 * HOUR, "expire_incomplete", sub.id)
            return
        w.emit("customer.subscription.created", t, sub)
        self._finalize_now(invoice, t, pay=True)
        self._plan_period(sub, state)
        self.push(state.period_end, "renew", sub.id)

    def _active_main(self) -> bool:
        return any(
            state.main and sub.ended_at is None and sub.status != "incomplete_expired"
            for sub, state in self.subs.values()
        )

    def _pick_coupon(self, sub: Subscription, has_metered: bool, t: int):
        coupons, rng = self.w.catalog.coupons, self.rng
        options = ["WELCOME50", "QUARTER25", "LAUNCH20"]
        if self.profile.channel == "partner":
            options.append("PARTNER10")
        if sub.interval == "year":
            options.append("ANNUAL15")
        if not has_metered and sub.interval == "month" and sub.interval_count == 1:
            options += ["FIRST100", "LOYAL50"]
        return coupons[rng.choice(options)]

    def _discount(self, coupon, sub: Subscription, t: int) -> Discount:
        end = None
        if coupon.duration == "repeating":
            end = t + int(coupon.duration_in_months * MONTH)
        discount = Discount(
            id=self.w.ids.new("di"),
            coupon=coupon,
            customer=sub.customer,
            subscription=sub.id,
            start=t,
            end=end,
        )
        coupon.times_redeemed += 1
        self.w.add(discount, self.w.discounts)
        self.w.emit("customer.discount.created", t, discount)
        if end is not None:
            self.push(end, "discount_end", sub.id, discount.id)
        return discount

    # ---- periods and invoices -------------------------------------------------------------
    def _bound(self, sub: Subscription, index: int) -> int:
        return period_bound(sub.billing_cycle_anchor, sub.interval, sub.interval_count, index)

    def _set_period(
        self, sub: Subscription, state: SubState, start: int, end: int, when: int | None = None
    ) -> None:
        state.period_start, state.period_end = start, end
        if (start if when is None else when) >= self.w.horizon:  # events may hold old items
            sub.items = [snapshot(item) for item in sub.items]
        for item in sub.items:
            item.current_period_start, item.current_period_end = start, end

    def _months(self, sub: Subscription) -> float:
        return months_per_period(sub.interval, sub.interval_count)

    def _active_discount(self, sub: Subscription, t: int) -> Discount | None:
        for discount in sub.discounts:
            if discount.start <= t and (discount.end is None or t < discount.end):
                if discount.coupon.duration == "once" and discount.used:
                    continue
                return discount
        return None

    def _line(
        self,
        invoice_id: str,
        sub: Subscription | None,
        item: SubscriptionItem | None,
        price: Price | None,
        quantity: int | None,
        amount: int,
        start: int,
        end: int,
        kind: str,
        description: str,
    ) -> InvoiceLine:
        return InvoiceLine(
            id=self.w.ids.new("il"),
            invoice=invoice_id,
            amount=amount,
            currency=self.profile.currency,
            description=description,
            period_start=start,
            period_end=end,
            price=price,
            quantity=quantity,
            kind=kind,
            subscription=sub.id if sub else None,
            subscription_item=item.id if item else None,
            unit_amount_decimal=_unit_decimal(price, self.profile.currency),
        )

    def _invoice(
        self,
        sub: Subscription,
        t: int,
        reason: str,
        start: int,
        end: int,
        *,
        trial: bool = False,
        usage: list[tuple[SubscriptionItem, int, int]] = (),
        licensed: bool = True,
    ) -> Invoice:
        """Draft invoice for the licensed items over [start, end) and usage of past periods."""
        w, state = self.w, self.subs[sub.id][1]
        invoice_id = w.ids.new("in")
        lines: list[InvoiceLine] = []
        segment_lines: list[InvoiceLine] = []
        for item, used_start, used_end in usage:
            units = self._usage(sub, state, item)
            line = self._line(
                invoice_id,
                sub,
                item,
                item.price,
                units,
                price_amount(item.price, units, sub.currency),
                used_start,
                used_end,
                "subscription",
                f"{units} x {self._product_name(item.price)} (usage)",
            )
            lines.append(line)
            segment_lines.append(line)
        if licensed:
            for item in sub.items:
                if item.price.usage_type == "metered":
                    continue
                amount = 0 if trial else price_amount(item.price, item.quantity, sub.currency)
                name = self._product_name(item.price)
                text = f"Trial period for {name}" if trial else f"{item.quantity} x {name}"
                line = self._line(
                    invoice_id,
                    sub,
                    item,
                    item.price,
                    item.quantity,
                    amount,
                    start,
                    end,
                    "subscription",
                    text,
                )
                lines.append(line)
                state.debits[item.id] = (invoice_id, line.id)
                if not trial:
                    segment_lines.append(line)
        if reason == "subscription_create" and not trial and state.main:
            setup = {"Mid-Market": 0.3, "Enterprise": 0.7}.get(self.profile.segment, 0.0)
            if self.rng.random() < setup:
                price = w.catalog.one_time("setup", sub.currency, t)
                line = self._line(
                    invoice_id,
                    sub,
                    None,
                    price,
                    1,
                    price.unit_amount,
                    t,
                    t,
                    "invoiceitem",
                    "Onboarding and setup fee",
                )
                line.invoice_item = w.ids.new("ii")
                line.discountable = False
                lines.append(line)
        discount = self._active_discount(sub, t)
        billing.apply_discount(lines, discount, sub.currency)
        billing.apply_taxes(lines, self.profile.tax_rate)
        invoice = Invoice(
            id=invoice_id,
            customer=self.customer,
            created=t,
            currency=sub.currency,
            billing_reason=reason,
            lines=lines,
            period_start=start,
            period_end=end,
            subscription=sub.id,
            starting_balance=self.customer.balance,
        )
        billing.total_invoice(invoice)
        if discount is not None and discount.coupon.duration == "once" and invoice.discounts:
            discount.used = True
            self._drop_discount(sub, discount.id, t)
        w.add(invoice, w.invoices)
        before = w.before(t, sub)
        sub.latest_invoice = invoice.id
        w.emit("invoice.created", t, invoice)
        if before is not None and sub.created != t:
            w.emit("customer.subscription.updated", t, sub, before)
        for line in segment_lines:
            self._segment(sub, state, line, invoice.id)
        if licensed:
            state.period_discount = invoice.discounts[0] if invoice.discounts else None
        return invoice

    def _product_name(self, price: Price) -> str:
        product = self.w.objects.get(price.product)
        return product.name if product is not None else "item"

    def _usage(self, sub: Subscription, state: SubState, item: SubscriptionItem) -> int | Decimal:
        """Units used in the period: storage is metered in tenths of a GB (a decimal
        quantity, `quantity_decimal`), requests in whole thousands."""
        base = state.usage_base.get(item.price.id, 1000.0)
        growth = 1.02**state.index
        used = max(0.0, base * growth * self.rng.lognormvariate(0, 0.25))
        if item.price.meter == "mtr_storage":
            return Decimal(int(used * 10)) / 10
        return int(used)

    def _segment(
        self, sub: Subscription, state: SubState, line: InvoiceLine, invoice_id: str
    ) -> None:
        months = months_per_period(line.price.interval, line.price.interval_count)
        segment = Segment(
            start=line.period_start,
            end=line.period_end,
            monthly_cents=(line.net - line.inclusive_tax) / months,
            subscription=sub.id,
            invoice=invoice_id,
            metered=line.price.usage_type == "metered",
        )
        self.segments.append(segment)
        if not segment.metered:
            state.open_segments.append(segment)

    def _finalize_now(self, invoice: Invoice, t: int, *, pay: bool) -> None:
        self._finalize_invoice(invoice, t)
        if invoice.status == "paid":
            return
        if pay:
            self._pay(invoice, t)
        else:
            self._fail(invoice, t, None)

    def _finalize_invoice(self, invoice: Invoice, t: int) -> None:
        w, customer = self.w, self.customer
        before = w.before(t, invoice)
        invoice.status = "open"
        invoice.finalized_at = t
        invoice.number = f"{customer.invoice_prefix}-{customer.next_invoice_sequence:04d}"
        customer.next_invoice_sequence += 1
        invoice.starting_balance = customer.balance
        billing.total_invoice(invoice)
        if invoice.collection_method == "send_invoice":
            invoice.due_date = t + 30 * DAY
        balance_after = min(0, invoice.total + invoice.starting_balance)
        invoice.ending_balance = balance_after
        if balance_after != customer.balance:
            before_customer = w.before(t, customer)
            customer.balance = balance_after
            w.emit("customer.updated", t, customer, before_customer)
        w.emit("invoice.finalized", t, invoice, before)
        if invoice.amount_due == 0:
            before = w.before(t, invoice)
            invoice.status = "paid"
            invoice.paid_at = t
            w.emit("invoice.paid", t, invoice, before)

    def _pay(self, invoice: Invoice, t: int) -> None:
        w = self.w
        before = w.before(t, invoice)
        invoice.status = "paid"
        invoice.paid_at = t
        invoice.attempted = invoice.collection_method == "charge_automatically"
        invoice.attempt_count += 1 if invoice.attempted else 0
        invoice.amount_paid = invoice.amount_due
        invoice.next_payment_attempt = None
        w.emit("invoice.paid", t, invoice, before)
        w.emit("invoice.payment_succeeded", t, invoice)
        self.ever_paid = True
        if (
            invoice.subscription
            and invoice.billing_reason != "subscription_update"
            and self.rng.random() < CREDIT_NOTE
        ):
            self.push(t + self.rng.randint(2 * DAY, 20 * DAY), "credit_note", invoice.id)

    def _fail(self, invoice: Invoice, t: int, next_attempt: int | None) -> None:
        w = self.w
        before = w.before(t, invoice)
        invoice.attempted = True
        invoice.attempt_count += 1
        invoice.next_payment_attempt = next_attempt
        w.emit("invoice.payment_failed", t, invoice, before)

    def _renew(self, t: int, sub_id: str) -> None:
        w, rng = self.w, self.rng
        sub, state = self.subs[sub_id]
        if sub.ended_at is not None or sub.status in ("incomplete", "incomplete_expired"):
            return
        previous_start = state.period_start
        metered = [
            (item, previous_start, t)
            for item in sub.items
            if item.price.usage_type == "metered" and not state.trial
        ]
        pause = sub.pause_collection
        if pause is not None and t >= pause["resumes_at"]:
            self._resume(t, sub.id)
        if (sub.status == "unpaid" or sub.pause_collection is not None) and (
            not sub.cancel_at_period_end
        ):
            self._renew_uncollected(t, sub, state, metered)
            return
        if sub.cancel_at_period_end:
            if metered:
                invoice = self._invoice(
                    sub, t, "subscription_cycle", previous_start, t, usage=metered, licensed=False
                )
                self.push(t + HOUR, "finalize", invoice.id)
            self._end(sub, state, t, "cancellation_requested", event_time=t)
            return
        before = w.before(t, sub)
        was_trial = state.trial
        if was_trial:
            state.trial = False
            state.index = 0
        else:
            state.index += 1
        self._apply_pending(sub, state, t)
        end = self._bound(sub, state.index + 1)
        self._set_period(sub, state, t, end)
        state.open_segments = [s for s in state.open_segments if s.end > t]
        if sub.status == "trialing":
            sub.status = "active"
        w.emit("customer.subscription.updated", t, sub, before)
        invoice = self._invoice(sub, t, "subscription_cycle", t, end, usage=metered)
        self.push(t + HOUR, "finalize", invoice.id)
        self._plan_period(sub, state)
        self.push(end, "renew", sub.id)
        if rng.random() < 0.02:
            self._touch_customer(t + 2 * HOUR)

    def _renew_uncollected(
        self,
        t: int,
        sub: Subscription,
        state: SubState,
        metered: list[tuple[SubscriptionItem, int, int]],
    ) -> None:
        """A period Stripe invoices but does not collect: never revenue.

        `unpaid`: the invoice is finalized and left open (no payment attempt); collection
        paused with `behavior: void`: the invoice is created and voided at once.
        """
        before = self.w.before(t, sub)
        state.index += 1
        end = self._bound(sub, state.index + 1)
        self._set_period(sub, state, t, end)
        state.open_segments = [s for s in state.open_segments if s.end > t]
        self.w.emit("customer.subscription.updated", t, sub, before)
        invoice = self._invoice(sub, t, "subscription_cycle", t, end, usage=metered)
        self._kill_segments(invoice.id)
        self._finalize_invoice(invoice, t + HOUR)
        if sub.status != "unpaid":
            self._void(invoice, t + HOUR + 1)
        self.push(end, "renew", sub.id)

    def _pause_request(self, t: int, sub_id: str, token: int) -> None:
        """The customer pauses collection for 1-3 months (`pause_collection`, void)."""
        w, rng = self.w, self.rng
        sub, state = self.subs[sub_id]
        if token != state.token or sub.status != "active" or sub.cancel_at_period_end:
            return
        if sub.pause_collection is not None:
            return
        before = w.before(t, sub)
        resumes = t + int(rng.uniform(1, 3) * MONTH)
        sub.pause_collection = {"behavior": "void", "resumes_at": resumes}
        w.emit("customer.subscription.updated", t, sub, before)
        self.push(resumes, "resume", sub.id)

    def _resume(self, t: int, sub_id: str) -> None:
        sub, _ = self.subs[sub_id]
        if sub.pause_collection is None or sub.ended_at is not None:
            return
        before = self.w.before(t, sub)
        sub.pause_collection = None
        self.w.emit("customer.subscription.updated", t, sub, before)

    def _kill_segments(self, invoice_id: str) -> None:
        """The revenue of this invoice never happened (void, uncollectible, unpaid)."""
        for segment in self.segments:
            if segment.invoice == invoice_id:
                segment.live = False

    def _finalize(self, t: int, invoice_id: str) -> None:
        invoice = self.w.objects[invoice_id]
        if invoice.status != "draft":
            return
        self._finalize_invoice(invoice, t)
        if invoice.status == "paid":
            return
        sub, state = self.subs[invoice.subscription]
        fails = self.rng.random() < self.rate(
            "payment_failure", PAYMENT_FAILURE[self.profile.segment]
        )
        if not fails or invoice.billing_reason != "subscription_cycle" or sub.ended_at:
            self._pay(invoice, t + 5)
            return
        dunning = min(14 * DAY, int(0.6 * (state.period_end - state.period_start)))
        retries = [t + int(dunning * f) for f in (0.25, 0.55, 1.0)]
        self._fail(invoice, t + 5, retries[0])
        before = self.w.before(t + 6, sub)
        sub.status = "past_due"
        self.w.emit("customer.subscription.updated", t + 6, sub, before)
        recovered_at = self.rng.randrange(3) if self.rng.random() < RECOVERY else None
        for number, when in enumerate(retries):
            self.push(when, "retry", invoice.id, number, recovered_at, retries)

    def _retry(
        self, t: int, invoice_id: str, number: int, recovered_at: int | None, retries: list[int]
    ) -> None:
        w = self.w
        invoice = w.objects[invoice_id]
        sub, state = self.subs[invoice.subscription]
        if invoice.status != "open" or sub.ended_at is not None:
            return
        if recovered_at is not None and number >= recovered_at:
            self._pay(invoice, t)
            before = w.before(t + 1, sub)
            sub.status = "active"
            w.emit("customer.subscription.updated", t + 1, sub, before)
            return
        last = number == len(retries) - 1
        self._fail(invoice, t, None if last else retries[number + 1])
        if last:
            self._dunning_over(t + 1, sub, state, invoice)

    def _dunning_over(self, t: int, sub: Subscription, state: SubState, invoice: Invoice) -> None:
        w, rng = self.w, self.rng
        unpaid = self.rate("unpaid", 0.2)
        outcome = rng.choices(["cancel", "unpaid", "void"], [0.8 - unpaid, unpaid, 0.2])[0]
        if outcome == "unpaid":
            before = w.before(t, sub)
            sub.status = "unpaid"
            w.emit("customer.subscription.updated", t, sub, before)
            # not paying is not MRR: 0 from the start of the unpaid invoice's period
            self._kill_segments(invoice.id)
            state.kind = "involuntary"
            if rng.random() >= self.rate("stay_unpaid", STAY_UNPAID):
                later = t + max(HOUR, min(7 * DAY, (state.period_end - t) // 2))
                self.push(later, "cancel_unpaid", sub.id, invoice.id)
            return
        if outcome == "void":
            self._void(invoice, t)
        else:
            self._uncollectible(invoice, t)
        self._end(sub, state, t + 1, "payment_failed", event_time=t + 1)

    def _cancel_unpaid(self, t: int, sub_id: str, invoice_id: str) -> None:
        sub, state = self.subs[sub_id]
        if sub.ended_at is not None:
            return
        invoice = self.w.objects[invoice_id]
        if invoice.status == "open":
            self._uncollectible(invoice, t)
        self._end(sub, state, t + 1, "payment_failed", event_time=t + 1)

    def _uncollectible(self, invoice: Invoice, t: int) -> None:
        before = self.w.before(t, invoice)
        invoice.status = "uncollectible"
        invoice.marked_uncollectible_at = t
        invoice.next_payment_attempt = None
        self.w.emit("invoice.marked_uncollectible", t, invoice, before)
        self._kill_segments(invoice.id)  # uncollectible counts like void

    def _void(self, invoice: Invoice, t: int) -> None:
        before = self.w.before(t, invoice)
        invoice.status = "void"
        invoice.voided_at = t
        invoice.next_payment_attempt = None
        invoice.amount_due = 0
        self.w.emit("invoice.voided", t, invoice, before)
        self._kill_segments(invoice.id)

    def _expire_incomplete(self, t: int, sub_id: str) -> None:
        w = self.w
        sub, _state = self.subs[sub_id]
        if sub.status != "incomplete":
            return
        invoice = w.objects[sub.latest_invoice]
        self._void(invoice, t)
        before = w.before(t, sub)
        sub.status = "incomplete_expired"
        sub.ended_at = t
        w.emit("customer.subscription.deleted", t, sub, before)
        self._after_churn(t)

    def _end(
        self, sub: Subscription, state: SubState, t: int, reason: str, *, event_time: int
    ) -> None:
        """The subscription ends at `t`: revenue stops, events, maybe reactivation later."""
        w = self.w
        before = w.before(event_time, sub)
        sub.status = "canceled"
        sub.ended_at = t
        if sub.canceled_at is None:
            sub.canceled_at = t
        sub.cancellation_details = {**sub.cancellation_details, "reason": reason}
        state.token += 1
        state.kind = "involuntary" if reason == "payment_failed" else "voluntary"
        for segment in state.open_segments:
            if segment.end > t:
                segment.end = max(segment.start, t)
        state.open_segments = []
        w.emit("customer.subscription.deleted", event_time, sub, before)
        if state.main:
            for other, other_state in self.subs.values():
                if not other_state.main and other.ended_at is None and other is not sub:
                    self._end(other, other_state, t, reason, event_time=event_time)
            self._after_churn(t)

    def _after_churn(self, t: int) -> None:
        rng = self.rng
        if self._active_main():
            return
        self.churned_at = t
        if self.ever_paid and rng.random() < REACTIVATION:
            self.push(t + int((1 + rng.expovariate(1 / 8)) * MONTH), "subscribe", True)
        elif rng.random() < DELETION:
            self.push(t + int(rng.uniform(1, 6) * MONTH), "delete_customer")

    # ---- in-period decisions ---------------------------------------------------------------
    def _plan_period(self, sub: Subscription, state: SubState) -> None:
        """Draw what happens during the period that just began."""
        rng, segment = self.rng, self.profile.segment
        start, end = state.period_start, state.period_end
        months = self._months(sub)
        length = end - start
        if rng.random() < per_period(CANCEL[segment] * (1.0 if state.main else 1.5), months):
            when = start + int(rng.random() * length)
            self.push(when, "cancel_request", sub.id, state.token, True)
        if not state.main or sub.interval in ("day", "week"):
            return
        if rng.random() < per_period(UPGRADE[segment], months):
            self.push(start + int(rng.random() * length), "change", sub.id, state.token, "up")
        if rng.random() < per_period(DOWNGRADE, months):
            self.push(start + int(rng.random() * length), "change", sub.id, state.token, "down")
        if rng.random() < per_period(ADD_ON, months):
            self.push(start + int(rng.random() * length), "change", sub.id, state.token, "addon")
        pausable = (sub.interval, sub.interval_count) == ("month", 1) and not state.usage_base
        if pausable and rng.random() < self.rate("pause", PAUSE):
            self.push(start + int(rng.random() * length), "pause_request", sub.id, state.token)

    def _cancel_request(self, t: int, sub_id: str, token: int, retention: bool) -> None:
        w, rng = self.w, self.rng
        sub, state = self.subs[sub_id]
        if token != state.token or sub.ended_at is not None or sub.cancel_at_period_end:
            return
        if sub.status not in ("active", "trialing"):
            return
        if retention and state.main and not sub.discounts and rng.random() < 0.15:
            coupon = w.catalog.coupons["STAY30"]
            before = w.before(t, sub)
            sub.discounts = [self._discount(coupon, sub, t)]
            w.emit("customer.subscription.updated", t, sub, before)
            return
        before = w.before(t, sub)
        sub.cancellation_details = {
            "comment": None,
            "feedback": rng.choice(
                ["too_expensive", "missing_features", "switched_service", "unused", "other", None]
            ),
            "reason": "cancellation_requested",
        }
        sub.canceled_at = t
        immediate = (
            state.main and not state.trial and self._months(sub) <= 1 and rng.random() < 0.15
        )
        if immediate:
            metered = [
                (item, state.period_start, t)
                for item in sub.items
                if item.price.usage_type == "metered"
            ]
            if metered:
                invoice = self._invoice(
                    sub,
                    t,
                    "subscription_update",
                    state.period_start,
                    t,
                    usage=metered,
                    licensed=False,
                )
                self.push(t + HOUR, "finalize", invoice.id)
            self._end(sub, state, t, "cancellation_requested", event_time=t)
            return
        sub.cancel_at_period_end = True
        sub.cancel_at = state.period_end
        w.emit("customer.subscription.updated", t, sub, before)

    def _trial_will_end(self, t: int, sub_id: str) -> None:
        sub, _ = self.subs[sub_id]
        if sub.status == "trialing":
            self.w.emit("customer.subscription.trial_will_end", t, sub)

    def _discount_end(self, t: int, sub_id: str, discount_id: str) -> None:
        sub, _ = self.subs[sub_id]
        if any(d.id == discount_id for d in sub.discounts) and sub.ended_at is None:
            self._drop_discount(sub, discount_id, t)

    def _drop_discount(self, sub: Subscription, discount_id: str, t: int) -> None:
        before = self.w.before(t, sub)
        gone = [d for d in sub.discounts if d.id == discount_id]
        sub.discounts = [d for d in sub.discounts if d.id != discount_id]
        for discount in gone:
            self.w.emit("customer.discount.deleted", t, discount)
        self.w.emit("customer.subscription.updated", t, sub, before)

    def _restricted(self, sub: Subscription, state: SubState, t: int) -> bool:
        """Changes wait for the renewal unless the discount at `t` is the period's own.

        So the revenue after a mid-cycle change uses the same discount as the period's
        invoice: none, or a forever percent-off coupon (amount-off coupons never prorate).
        """
        discount = self._active_discount(sub, t)
        if discount is None:
            return bool(sub.discounts) or state.period_discount is not None
        return not (
            discount.coupon.duration == "forever"
            and discount.coupon.percent_off is not None
            and discount.id == state.period_discount
        )

    def _change(self, t: int, sub_id: str, token: int, kind: str) -> None:
        sub, state = self.subs[sub_id]
        if token != state.token or sub.status != "active" or sub.cancel_at_period_end:
            return
        if sub.pause_collection is not None:
            return
        new_items = self._changed_items(sub, state, kind, t)
        if new_items is None:
            return
        if (kind == "down" and self.rng.random() < 0.5) or self._restricted(sub, state, t):
            state.pending.append(("items", new_items))
            return
        self._prorate(sub, state, new_items, t)

    def _changed_items(
        self, sub: Subscription, state: SubState, kind: str, t: int
    ) -> list[SubscriptionItem] | None:
        rng, w = self.rng, self.w
        licensed = [i for i in sub.items if i.price.usage_type == "licensed"]
        seat_items = [
            i
            for i in licensed
            if (i.quantity or 0) > 1
            or i.price.billing_scheme == "tiered"
            or state.plan == "starter"
        ]
        items = [snapshot(i) for i in sub.items]
        if kind == "addon":
            keys = {p.id: k for k, p in w.catalog.products.items()}
            have = {keys.get(i.price.product) for i in items}
            choices = [
                k
                for k in ("sso", "support", "workspaces")
                if k not in have and not w.catalog.retired(k, t)
            ]
            if not choices or self.profile.segment == "SMB":
                return None
            key = rng.choice(choices)
            price = w.catalog.recurring(key, sub.interval, sub.interval_count, sub.currency, t)
            items.append(
                SubscriptionItem(
                    id=w.ids.new("si"),
                    subscription=sub.id,
                    price=price,
                    quantity=rng.randint(1, 3) if key == "workspaces" else 1,
                    created=t,
                    current_period_start=state.period_start,
                    current_period_end=state.period_end,
                )
            )
            w.objects[items[-1].id] = items[-1]
            return items
        if not seat_items:
            return None
        target = next(i for i in items if i.id == seat_items[0].id)
        quantity = target.quantity or 1
        if kind == "up":
            if (
                state.plan == "starter"
                and sub.interval in ("month", "year")
                and (rng.random() < 0.3)
            ):
                target.price = w.catalog.recurring("team", sub.interval, 1, sub.currency, t)
                target.quantity = max(quantity, 3)
                return items
            target.quantity = quantity + max(1, int(quantity * rng.uniform(0.1, 0.5)))
            return items
        if quantity <= 1:
            return None
        target.quantity = max(1, quantity - max(1, int(quantity * rng.uniform(0.1, 0.3))))
        return items

    def _apply_pending(self, sub: Subscription, state: SubState, t: int) -> None:
        for kind, value in state.pending:
            if kind == "items":
                sub.items = value
        state.pending = []
        if self.rng.random() < 0.01:
            addons = [i for i in sub.items if i.price.usage_type == "licensed"][1:]
            if addons:
                gone = self.rng.choice(addons)
                sub.items = [i for i in sub.items if i.id != gone.id]
        per_year = max(1, round(12 / self._months(sub)))
        if (
            state.plan == "enterprise"
            and state.index % per_year == 0
            and (self.rng.random() < ENTERPRISE_UPLIFT)
        ):
            self._uplift(sub, t)

    def _uplift(self, sub: Subscription, t: int) -> None:
        """An enterprise contract renews at a higher price (a new deal-specific price)."""
        items = [snapshot(i) for i in sub.items]
        contract = items[0]
        amount = round(contract.price.unit_amount * self.rng.uniform(1.05, 1.3) / 100) * 100
        contract.price = self.w.catalog.custom(
            "enterprise",
            amount,
            sub.interval,
            sub.interval_count,
            sub.currency,
            t,
            nickname=contract.price.nickname or "Enterprise contract",
        )
        sub.items = items

    def _prorate(
        self, sub: Subscription, state: SubState, items: list[SubscriptionItem], t: int
    ) -> None:
        """Mid-cycle change: proration invoice now, new revenue from `t` (truth rules)."""
        w = self.w
        start, end = state.period_start, state.period_end
        if not start < t < end:
            return
        fraction = (end - t) / (end - start)
        discount = self._active_discount(sub, t)
        percent = discount.coupon.percent_off if discount else None
        old = {i.id: i for i in sub.items}
        new = {i.id: i for i in items}
        invoice_id = w.ids.new("in")
        lines = []
        for item_id in list(old) + [i for i in new if i not in old]:
            before_item, after_item = old.get(item_id), new.get(item_id)
            if (
                before_item
                and after_item
                and (before_item.price.id, before_item.quantity)
                == (after_item.price.id, after_item.quantity)
            ):
                continue
            for sign, item in ((-1, before_item), (1, after_item)):
                if item is None or item.price.usage_type == "metered":
                    continue
                gross = full = price_amount(item.price, item.quantity, sub.currency)
                if percent is not None:
                    full -= billing.percent_of(full, percent)
                amount = sign * billing.round_half_up(full * fraction)
                discount_part = 0
                if sub.billing_mode == "flexible" and percent is not None:
                    # flexible billing itemizes the discount of a proration (same net)
                    discount_part = sign * billing.round_half_up(gross * fraction) - amount
                    amount += discount_part
                name = self._product_name(item.price)
                text = (
                    f"Unused time on {item.quantity} x {name}"
                    if sign < 0
                    else f"Remaining time on {item.quantity} x {name}"
                )
                line = self._line(
                    invoice_id,
                    sub,
                    item,
                    item.price,
                    item.quantity,
                    amount,
                    t,
                    end,
                    "proration",
                    text,
                )
                line.discountable = sub.billing_mode == "flexible"
                if discount_part:
                    line.discount, line.discount_amount = discount, discount_part
                line.invoice_item = w.ids.new("ii")  # prorations are invoice items
                if sign < 0 and item.id in state.debits:
                    line.credited_invoice, credited = state.debits[item.id]
                    line.credited_lines = [credited]
                elif sign > 0:
                    state.debits[item.id] = (invoice_id, line.id)
                lines.append(line)
        if not lines:
            return
        before = w.before(t, sub)
        sub.items = items
        self._set_period(sub, state, start, end, t)
        billing.apply_taxes(lines, self.profile.tax_rate)
        invoice = Invoice(
            id=invoice_id,
            customer=self.customer,
            created=t,
            currency=sub.currency,
            billing_reason="subscription_update",
            lines=lines,
            period_start=t,
            period_end=t,
            subscription=sub.id,
            starting_balance=self.customer.balance,
        )
        billing.total_invoice(invoice)
        w.add(invoice, w.invoices)
        sub.latest_invoice = invoice.id
        w.emit("customer.subscription.updated", t, sub, before)
        w.emit("invoice.created", t, invoice)
        self._finalize_invoice(invoice, t + 1)
        if invoice.status == "open":
            self._pay(invoice, t + 2)
        # revenue: the new state counts from t
        for segment in state.open_segments:
            if segment.end > t:
                segment.end = t
        state.open_segments = []
        months = self._months(sub)
        for item in sub.items:
            if item.price.usage_type == "metered":
                continue
            net = billing.recurring_net(
                price_amount(item.price, item.quantity, sub.currency),
                discount,
                self.profile.tax_rate,
                sub.currency,
            )
            segment = Segment(
                start=t,
                end=end,
                monthly_cents=net / months,
                subscription=sub.id,
                invoice=invoice.id,
            )
            self.segments.append(segment)
            state.open_segments.append(segment)

    # ---- one-off invoices, credit notes, customer changes ---------------------------------
    def _one_off(self, t: int) -> None:
        w, rng, customer = self.w, self.rng, self.customer
        if customer.deleted:
            return
        rate = ONE_OFF_PER_MONTH[self.profile.segment]
        self.push(t + int(rng.expovariate(rate) * MONTH), "one_off")
        if customer.currency is None:
            return
        price = w.catalog.one_time("services", customer.currency, t)
        invoice_id = w.ids.new("in")
        weeks = rng.randint(12, 30) if rng.random() < 0.2 else 1  # itemised by week
        lines = []
        for week in range(weeks):
            hours = rng.randint(5, 80)
            line = self._line(
                invoice_id,
                None,
                None,
                price,
                hours,
                price.unit_amount * hours,
                t,
                t,
                "invoiceitem",
                f"{hours} x Professional services (hour), week {week + 1}",
            )
            line.invoice_item = w.ids.new("ii")
            lines.append(line)
        billing.apply_taxes(lines, self.profile.tax_rate)
        invoice = Invoice(
            id=invoice_id,
            customer=customer,
            created=t,
            currency=customer.currency,
            billing_reason="manual",
            lines=lines,
            period_start=t,
            period_end=t,
            collection_method="send_invoice",
            description="Professional services",
        )
        billing.total_invoice(invoice)
        w.add(invoice, w.invoices)
        w.emit("invoice.created", t, invoice)
        self.push(t + rng.randint(HOUR, 4 * DAY), "one_off_finalize", invoice.id)

    def _one_off_finalize(self, t: int, invoice_id: str, postponed: bool = False) -> None:
        rng = self.rng
        invoice = self.w.objects[invoice_id]
        if invoice.status != "draft":
            return
        if not postponed and rng.random() < 0.15:  # left in draft a while longer
            self.push(t + rng.randint(5 * DAY, 20 * DAY), "one_off_finalize", invoice.id, True)
            return
        if rng.random() < 0.08:
            self._finalize_invoice(invoice, t)
            self.push(t + rng.randint(HOUR, 10 * DAY), "one_off_void", invoice.id)
            return
        self._finalize_invoice(invoice, t)
        if invoice.status != "open":
            return
        if rng.random() < 0.04:
            self.push(t + 90 * DAY, "one_off_uncollectible", invoice.id)
        else:
            self.push(t + rng.randint(5 * DAY, 40 * DAY), "one_off_pay", invoice.id)

    def _one_off_pay(self, t: int, invoice_id: str) -> None:
        invoice = self.w.objects[invoice_id]
        if invoice.status == "open":
            self._pay(invoice, t)

    def _one_off_void(self, t: int, invoice_id: str) -> None:
        invoice = self.w.objects[invoice_id]
        if invoice.status == "open":
            self._void(invoice, t)

    def _one_off_uncollectible(self, t: int, invoice_id: str) -> None:
        invoice = self.w.objects[invoice_id]
        if invoice.status == "open":
            self._uncollectible(invoice, t)

    def _credit_note(self, t: int, invoice_id: str) -> None:
        w, rng = self.w, self.rng
        invoice = w.objects[invoice_id]
        candidates = [line for line in invoice.lines if line.net > 0]
        if invoice.status != "paid" or not candidates:
            return
        line = candidates[0]
        share = rng.uniform(0.1, 0.5)
        amount = billing.round_half_up(line.net * share)
        tax = None
        if line.taxes:
            tax_line = line.taxes[0]
            tax_amount = billing.round_half_up(tax_line.amount * share)
            taxable = amount - tax_amount if tax_line.behavior == "inclusive" else amount
            tax = TaxAmount(tax_amount, tax_line.behavior, tax_line.rate, taxable)
        total = amount + (tax.amount if tax and tax.behavior == "exclusive" else 0)
        refund = rng.random() < 0.7
        note = CreditNote(
            id=w.ids.new("cn"),
            number=f"{invoice.number}-CN-01",
            invoice=invoice.id,
            customer=invoice.customer.id,
            created=t,
            currency=invoice.currency,
            reason=rng.choice(["product_unsatisfactory", "order_change", None]),
            subtotal=amount,
            total=total,
            lines=[
                CreditNoteLine(
                    id=w.ids.new("cnli"),
                    invoice_line=line.id,
                    amount=amount,
                    description=line.description,
                    tax=tax,
                )
            ],
            refund=w.ids.new("re") if refund else None,
            customer_balance_transaction=None if refund else w.ids.new("cbtxn"),
            memo="Partial credit",
        )
        w.add(note, w.credit_notes)
        before = w.before(t, invoice)
        invoice.post_payment_credit_notes_amount += total
        w.emit("credit_note.created", t, note)
        w.emit("invoice.updated", t, invoice, before)
        if not refund:
            before = w.before(t, self.customer)
            self.customer.balance -= total
            w.emit("customer.updated", t, self.customer, before)

    def _touch_customer(self, t: int) -> None:
        before = self.w.before(t, self.customer)
        self.customer.metadata = {
            **self.customer.metadata,
            "account_manager": self.rng.choice(["ana", "bo", "chen", "dee", "eli"]),
        }
        self.w.emit("customer.updated", t, self.customer, before)

    def _delete_customer(self, t: int) -> None:
        customer = self.customer
        if customer.deleted or self._active_main():
            return
        if any(
            sub.ended_at is None and sub.status not in ("incomplete_expired",)
            for sub, _ in self.subs.values()
        ):
            return
        customer.deleted = True
        customer.deleted_at = t
        self.queue = []  # a deleted customer does nothing more
        self.w.emit("customer.deleted", t, customer)

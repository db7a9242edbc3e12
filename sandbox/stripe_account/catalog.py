"""The account's product catalogue: products, prices (per plan, interval and currency),
coupons and tax rates.

Prices are created the first time a subscription needs them (so `created` of a price is
never after its first use and the price list grows with the account like a real one).
Enterprise deals get their own custom price, created inline (`price_data` on the
subscription item), as sales-led companies do in Stripe: such a price is inactive and no
list returns it. At `repricing_at` the Starter and Team list prices go up 10%: new prices
are created for new subscriptions and the old ones are archived (`active: false`) while
every existing subscription keeps billing them; the workspaces add-on product is retired
(archived with its prices) at the same moment. Every account older than a year has such
archived prices still billing.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from nrr.sandbox.stripe_account.ids import IdFactory
from nrr.sandbox.stripe_account.records import Coupon, Price, Product, TaxRate

CURRENCY_FACTOR = {"usd": 1.0, "eur": 0.92, "gbp": 0.79, "cad": 1.36}
# a longer commitment is cheaper per month
COMMITMENT_DISCOUNT = {("month", 1): 1.0, ("month", 3): 0.95, ("month", 6): 0.9, ("year", 1): 0.85}


@dataclass(frozen=True)
class Plan:
    """A priced product: how one unit (seat, add-on, usage unit) costs per month in usd."""

    key: str
    product: str
    scheme: str  # per_unit | volume | graduated
    monthly_usd: float = 0.0  # per unit, per_unit scheme
    tiers: tuple[tuple[int | None, float, float], ...] = ()  # (up_to, unit, flat) per month
    usage_type: str = "licensed"
    unit_label: str | None = None


PLANS = {
    "starter": Plan("starter", "Starter", "per_unit", 2900, unit_label="seat"),
    "team": Plan(
        "team",
        "Team",
        "graduated",
        tiers=((5, 2500, 0), (20, 2000, 0), (None, 1500, 0)),
        unit_label="seat",
    ),
    "business": Plan(
        "business",
        "Business",
        "volume",
        tiers=((25, 6000, 0), (100, 5000, 0), (None, 4000, 0)),
        unit_label="seat",
    ),
    "enterprise": Plan("enterprise", "Enterprise platform", "per_unit", 0),
    "sso": Plan("sso", "SSO & SCIM add-on", "per_unit", 20000),
    "support": Plan("support", "Premium support add-on", "per_unit", 50000),
    "workspaces": Plan("workspaces", "Extra workspaces add-on", "per_unit", 1500),
    "analytics": Plan("analytics", "Analytics suite", "per_unit", 19900),
    "api_calls": Plan(
        "api_calls", "API requests", "per_unit", 2, usage_type="metered", unit_label="1k requests"
    ),
    "storage": Plan(
        "storage",
        "Storage",
        "graduated",
        tiers=((100, 0, 0), (1000, 10, 0), (None, 5, 0)),
        usage_type="metered",
        unit_label="GB",
    ),
}
REGIONS = (
    "us-east",
    "us-west",
    "ca-central",
    "eu-west",
    "eu-central",
    "eu-north",
    "uk-south",
    "ap-south",
    "ap-southeast",
    "ap-northeast",
    "sa-east",
    "me-central",
    "af-south",
    "au-east",
)
for _region in REGIONS:  # enterprise data residency: one product per region, many items
    PLANS[f"region_{_region}"] = Plan(
        f"region_{_region}", f"Data residency {_region}", "per_unit", 30000
    )
# starter is also sold weekly and by the day (per seat), at these per-period prices in usd
SHORT_PERIOD_USD = {("week", 1): 900, ("day", 1): 150}
ONE_TIME_USD = {"setup": 50000, "services": 20000}
ONE_TIME_NAMES = {"setup": "Onboarding and setup fee", "services": "Professional services (hour)"}
REPRICED = {"starter": 1.1, "team": 1.1}  # list price increase at `repricing_at`
RETIRED = ("workspaces",)  # products archived at `repricing_at` (their items keep billing)

COUPONS: tuple[dict[str, Any], ...] = (
    {
        "id": "LAUNCH20",
        "name": "Launch offer 20% forever",
        "duration": "forever",
        "percent_off": 20,
    },
    {"id": "PARTNER10", "name": "Partner 10%", "duration": "forever", "percent_off": 10},
    {
        "id": "WELCOME50",
        "name": "Welcome 50% for 3 months",
        "duration": "repeating",
        "duration_in_months": 3,
        "percent_off": 50,
    },
    {
        "id": "QUARTER25",
        "name": "25% for 6 months",
        "duration": "repeating",
        "duration_in_months": 6,
        "percent_off": 25,
    },
    {"id": "ANNUAL15", "name": "15% off the first invoice", "duration": "once", "percent_off": 15},
    {
        "id": "STAY30",
        "name": "Retention offer 30% for 3 months",
        "duration": "repeating",
        "duration_in_months": 3,
        "percent_off": 30,
    },
    {
        "id": "FIRST100",
        "name": "100 off the first invoice",
        "duration": "once",
        "amount_off": 10000,
    },
    {"id": "LOYAL50", "name": "50 off every invoice", "duration": "forever", "amount_off": 5000},
)

TAX_RATES: tuple[dict[str, Any], ...] = (
    {
        "key": "US-NY",
        "display_name": "Sales tax",
        "percentage": 8.875,
        "inclusive": False,
        "country": "US",
        "state": "NY",
        "tax_type": "sales_tax",
    },
    {
        "key": "US-CA",
        "display_name": "Sales tax",
        "percentage": 7.25,
        "inclusive": False,
        "country": "US",
        "state": "CA",
        "tax_type": "sales_tax",
    },
    {
        "key": "US-TX",
        "display_name": "Sales tax",
        "percentage": 6.25,
        "inclusive": False,
        "country": "US",
        "state": "TX",
        "tax_type": "sales_tax",
    },
    {
        "key": "CA",
        "display_name": "GST",
        "percentage": 5.0,
        "inclusive": False,
        "country": "CA",
        "tax_type": "gst",
    },
    {
        "key": "GB",
        "display_name": "VAT",
        "percentage": 20.0,
        "inclusive": True,
        "country": "GB",
        "tax_type": "vat",
    },
    {
        "key": "DE",
        "display_name": "MwSt.",
        "percentage": 19.0,
        "inclusive": True,
        "country": "DE",
        "tax_type": "vat",
    },
    {
        "key": "FR",
        "display_name": "TVA",
        "percentage": 20.0,
        "inclusive": True,
        "country": "FR",
        "tax_type": "vat",
    },
    {
        "key": "NL",
        "display_name": "BTW",
        "percentage": 21.0,
        "inclusive": True,
        "country": "NL",
        "tax_type": "vat",
    },
)
# euro and pound prices are shown tax included (B2C-style VAT), dollar prices before tax
TAX_BEHAVIOR = {"usd": "exclusive", "cad": "exclusive", "eur": "inclusive", "gbp": "inclusive"}


def nice(amount: float) -> int:
    """Round a converted amount to a price a human would set (whole tens or hundreds)."""
    if amount >= 1000:
        return int(math.floor(amount / 100 + 0.5) * 100)
    if amount >= 100:
        return int(math.floor(amount / 10 + 0.5) * 10)
    return max(1, math.floor(amount + 0.5))


class Catalog:
    """Products, prices, coupons and tax rates of one account, created on first use."""

    def __init__(self, ids: IdFactory, created: int, objects: dict[str, Any]) -> None:
        self.ids = ids
        self.created = created
        self.objects = objects  # the account's id -> record map, for retrieve and expand
        self.on_create: Callable[..., None] | None = None  # World.emit: catalogue events
        self.repricing_at: int | None = None  # set by the account (see the module docstring)
        self.products: dict[str, Product] = {}
        self.prices: list[Price] = []
        self._price_by_key: dict[tuple[Any, ...], Price] = {}
        self.coupons = {spec["id"]: _coupon(spec, created) for spec in COUPONS}
        self.tax_rates = {
            spec["key"]: TaxRate(
                id=ids.new("txr"),
                created=created,
                jurisdiction=spec.get("state") or spec["country"],
                **{k: v for k, v in spec.items() if k != "key"},
            )
            for spec in TAX_RATES
        }
        for record in [*self.coupons.values(), *self.tax_rates.values()]:
            objects[record.id] = record

    def product(self, key: str, when: int) -> Product:
        if key not in self.products:
            name = PLANS[key].product if key in PLANS else ONE_TIME_NAMES[key]
            unit = PLANS[key].unit_label if key in PLANS else None
            self.products[key] = Product(
                id=self.ids.new("prod"),
                name=name,
                created=min(when, self.created),
                unit_label=unit,
                metadata={"plan": key},
            )
            self.objects[self.products[key].id] = self.products[key]
            self._created("product.created", when, self.products[key])
        return self.products[key]

    def repriced(self, when: int) -> bool:
        """Whether the list price increase (and the add-on retirement) happened by `when`."""
        return self.repricing_at is not None and when >= self.repricing_at

    def retired(self, key: str, when: int) -> bool:
        return key in RETIRED and self.repriced(when)

    def recurring(self, key: str, interval: str, count: int, currency: str, when: int) -> Price:
        """The list price of plan `key` billed every `count` x `interval` in `currency`."""
        generation = 1 if key in REPRICED and self.repriced(when) else 0
        multi = generation == 1 and PLANS[key].scheme == "per_unit"
        if multi:  # the new Starter prices: one usd price sold in every currency
            return self._multi_currency(key, interval, count, when)
        cache_key = (key, interval, count, currency, generation)
        price = self._price_by_key.get(cache_key)
        if price is not None:
            return price
        price = self.recurring_in(key, interval, count, currency, when, generation=generation)
        self._register(cache_key, price, self.products[key])
        return price

    @staticmethod
    def _months(plan: Plan, interval: str, count: int) -> float:
        """Months of the plan's monthly price one period bills (commitments are cheaper)."""
        if (interval, count) in SHORT_PERIOD_USD:
            return SHORT_PERIOD_USD[(interval, count)] / plan.monthly_usd
        if plan.usage_type == "metered":
            return 1.0
        return count * (12 if interval == "year" else 1) * COMMITMENT_DISCOUNT[(interval, count)]

    def recurring_in(
        self, key: str, interval: str, count: int, currency: str, when: int, *, generation: int
    ) -> Price:
        """A new (unregistered) list price of plan `key`."""
        plan = PLANS[key]
        factor = CURRENCY_FACTOR[currency] * (REPRICED[key] if generation else 1.0)
        product = self.product(key, when)
        months = self._months(plan, interval, count)
        price = Price(
            id=self.ids.new("price"),
            product=product.id,
            currency=currency,
            created=when,
            type="recurring",
            interval=interval,
            interval_count=count,
            usage_type=plan.usage_type,
            tax_behavior=TAX_BEHAVIOR[currency],
            lookup_key=f"{key}_{count}{interval}_{currency}",
            nickname=f"{plan.product} ({_cadence(interval, count)})",
            metadata={"plan": key},
            generation=generation,
        )
        if plan.usage_type == "metered":
            price.meter = "mtr_" + key
        if plan.scheme == "per_unit":
            price.unit_amount = nice(plan.monthly_usd * months * factor)
            price.unit_amount_decimal = str(price.unit_amount)
        else:
            price.billing_scheme = "tiered"
            price.tiers_mode = plan.scheme
            price.tiers = [
                {
                    "up_to": up_to,
                    "unit_amount": nice(unit * months * factor) if unit else 0,
                    "flat_amount": nice(flat * months * factor) if flat else None,
                }
                for up_to, unit, flat in plan.tiers
            ]
        return price

    def _multi_currency(self, key: str, interval: str, count: int, when: int) -> Price:
        """One price in usd with `currency_options` for the other currencies."""
        cache_key = (key, interval, count, "multi", 1)
        price = self._price_by_key.get(cache_key)
        if price is not None:
            return price
        price = self.recurring_in(key, interval, count, "usd", when, generation=1)
        for currency in CURRENCY_FACTOR:
            if currency != "usd":
                months = self._months(PLANS[key], interval, count)
                factor = CURRENCY_FACTOR[currency] * REPRICED[key]
                price.currency_options[currency] = nice(PLANS[key].monthly_usd * months * factor)
        price.lookup_key = f"{key}_{count}{interval}_multi"
        self._register(cache_key, price, self.products[key])
        return price

    def custom(
        self,
        key: str,
        amount: int,
        interval: str,
        count: int,
        currency: str,
        when: int,
        nickname: str,
    ) -> Price:
        """A deal-specific price (Enterprise contracts), created inline: never listed."""
        product = self.product(key, when)
        price = Price(
            id=self.ids.new("price"),
            product=product.id,
            currency=currency,
            created=when,
            type="recurring",
            interval=interval,
            interval_count=count,
            unit_amount=amount,
            unit_amount_decimal=str(amount),
            tax_behavior=TAX_BEHAVIOR[currency],
            nickname=nickname,
            metadata={"plan": key},
            active=False,
            inline=True,
        )
        self.prices.append(price)
        self.objects[price.id] = price
        return price

    def archive_due(self, now: int, emit: Callable[..., None]) -> None:
        """Archive what the repricing retired, once the account's clock has passed it.

        Prices are created lazily (customers are simulated one after the other), so this
        runs after each simulation step; the `*.updated` events carry the repricing's time.
        """
        if self.repricing_at is None or now < self.repricing_at:
            return
        when = self.repricing_at
        for key in RETIRED:
            product = self.products.get(key)
            if product is not None and product.active:
                before = copy.copy(product)
                product.active = False
                emit("product.updated", when, product, before)
        retired = {self.products[k].id for k in RETIRED if k in self.products}
        for price in self.prices:
            if not price.active or price.inline or price.type != "recurring":
                continue
            plan = (price.metadata or {}).get("plan")
            if (plan in REPRICED and price.generation == 0) or price.product in retired:
                before = copy.copy(price)
                price.active = False
                if plan in REPRICED:
                    price.lookup_key = None  # transferred to the new price
                emit("price.updated", when, price, before)

    def one_time(self, key: str, currency: str, when: int) -> Price:
        cache_key = (key, currency)
        price = self._price_by_key.get(cache_key)
        if price is None:
            product = self.product(key, when)
            amount = nice(ONE_TIME_USD[key] * CURRENCY_FACTOR[currency])
            price = Price(
                id=self.ids.new("price"),
                product=product.id,
                currency=currency,
                created=when,
                type="one_time",
                unit_amount=amount,
                unit_amount_decimal=str(amount),
                tax_behavior=TAX_BEHAVIOR[currency],
                lookup_key=f"{key}_{currency}",
                nickname=ONE_TIME_NAMES[key],
            )
            self._register(cache_key, price, product)
        return price

    def _register(self, key: tuple[Any, ...], price: Price, product: Product) -> None:
        self._price_by_key[key] = price
        self.prices.append(price)
        self.objects[price.id] = price
        self._created("price.created", price.created, price)
        if product.default_price is None and price.currency == "usd":
            before = copy.copy(product)
            product.default_price = price.id
            if self.on_create is not None:
                self.on_create("product.updated", price.created, product, before)

    def _created(self, kind: str, when: int, record: Any) -> None:
        if self.on_create is not None:
            self.on_create(kind, when, record)


def _cadence(interval: str, count: int) -> str:
    names = {
        ("month", 1): "monthly",
        ("month", 3): "quarterly",
        ("month", 6): "every 6 months",
        ("year", 1): "yearly",
        ("week", 1): "weekly",
        ("day", 1): "daily",
    }
    return names.get((interval, count), f"every {count} {interval}s")


def _coupon(spec: dict[str, Any], created: int) -> Coupon:
    coupon = Coupon(created=created, **spec)
    if coupon.amount_off is not None:
        coupon.currency = "usd"
        coupon.currency_options = {
            cur: nice(coupon.amount_off * factor)
            for cur, factor in CURRENCY_FACTOR.items()
            if cur != "usd"
        }
    return coupon


def _decimal_amount(price: Price, quantity: Decimal) -> Decimal:
    if price.billing_scheme == "per_unit":
        return Decimal(price.unit_amount or 0) * quantity
    assert price.tiers is not None and price.tiers_mode == "graduated"
    total, below = Decimal(0), Decimal(0)
    for tier in price.tiers:
        top = tier["up_to"]
        units = (quantity if top is None else min(quantity, Decimal(top))) - below
        if units <= 0:
            break
        total += tier["unit_amount"] * units + (tier["flat_amount"] or 0)
        if top is None:
            break
        below = Decimal(top)
    return total


def price_amount(price: Price, quantity: int | Decimal, currency: str | None = None) -> int:
    """What `quantity` units of `price` cost for one period, in cents (Stripe's tier rules).

    A decimal quantity (usage measured in fractions, `quantity_decimal`) costs its exact
    product, rounded half up to the cent. In another `currency` than the price's own, the
    amount of its `currency_options` applies (the customer pays its own currency's amount).
    """
    if currency is not None and currency in price.currency_options:
        return price.currency_options[currency] * int(quantity)
    if isinstance(quantity, Decimal):
        exact = _decimal_amount(price, quantity)
        return int(exact.to_integral_value(rounding=ROUND_HALF_UP))
    if price.billing_scheme == "per_unit":
        assert price.unit_amount is not None
        return price.unit_amount * quantity
    assert price.tiers is not None
    if price.tiers_mode == "volume":
        for tier in price.tiers:
            if tier["up_to"] is None or quantity <= tier["up_to"]:
                return tier["unit_amount"] * quantity + (tier["flat_amount"] or 0)
        raise AssertionError("tiers end with up_to=None")
    total, below = 0, 0
    for tier in price.tiers:
        top = tier["up_to"]
        units = (quantity if top is None else min(quantity, top)) - below
        if units <= 0:
            break
        total += tier["unit_amount"] * units + (tier["flat_amount"] or 0)
        if top is None:
            break
        below = top
    return total

"""The pure rules of the Stripe -> ledger derivation (nrr.stripe_source.ledger_rules), one
function at a time on hand-written values, edges included: when a discount stops applying,
which minor unit a currency has, how a tier or a transform rounds."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from nrr.stripe_source import ledger_rules as rules
from nrr.stripe_source.ledger import ledger_from_objects
from tests.stripe_source.objects import customer, invoice, line, price, product, subscription, ts

TEN_OFF = {"id": "co_10", "object": "coupon", "percent_off": 10.0, "duration": "repeating"}
FIVE_OFF = {"id": "co_5", "object": "coupon", "amount_off": 500, "currency": "usd",
            "duration": "forever"}  # fmt: skip
ONCE = {"id": "co_once", "object": "coupon", "percent_off": 50.0, "duration": "once"}
COUPONS = {c["id"]: c for c in (TEN_OFF, FIVE_OFF, ONCE)}


def _discount(coupon: str, start: int | None, end: int | None) -> dict[str, object]:
    return {"object": "discount", "source": {"coupon": coupon}, "start": start, "end": end}


# --- active_coupon: a discount is in effect on [start, end) --------------------------------


@pytest.mark.parametrize(
    ("instant", "expected"),
    [
        (99, None),  # before it starts
        (100, "co_10"),  # from its start
        (199, "co_10"),
        (200, None),  # its end is the first instant without it
        (250, None),  # long ended: a later mid-cycle change is not discounted
    ],
)
def test_a_repeating_discount_applies_from_its_start_until_just_before_its_end(instant, expected):
    coupon = rules.active_coupon([_discount("co_10", 100, 200)], COUPONS, instant)
    assert (coupon or {}).get("id") == expected


def test_an_ended_discount_gives_way_to_the_next_one_in_effect():
    discounts = [_discount("co_10", 100, 200), _discount("co_5", 150, None)]
    assert rules.active_coupon(discounts, COUPONS, 180)["id"] == "co_10"
    assert rules.active_coupon(discounts, COUPONS, 200)["id"] == "co_5"
    assert rules.active_coupon(discounts, COUPONS, 10**10)["id"] == "co_5"  # no end: forever
    assert rules.active_coupon(discounts, COUPONS, 149)["id"] == "co_10"


def test_a_once_coupon_never_applies_to_a_later_value_and_unknown_coupons_are_skipped():
    assert rules.active_coupon([_discount("co_once", 100, None)], COUPONS, 150) is None
    assert rules.active_coupon([_discount("co_gone", 100, None)], COUPONS, 150) is None
    assert rules.active_coupon([], COUPONS, 150) is None


def test_a_coupon_can_be_named_or_embedded_and_a_start_may_be_unknown():
    named = {"object": "discount", "coupon": "co_5", "start": None, "end": None}
    embedded = {"object": "discount", "coupon": FIVE_OFF, "start": 1, "end": None}
    assert rules.active_coupon([named], COUPONS, 5)["id"] == "co_5"
    assert rules.active_coupon([embedded], {}, 5)["id"] == "co_5"


def test_a_change_after_a_repeating_discount_ended_is_valued_without_it():
    """End to end through the derivation: the discount ran January-February, the seats
    change mid-March and no later renewal shows the amount, so the price arithmetic values
    it, with no discount."""
    seats = product("Seats")
    cust = customer()
    pr = price(seats, 1_000)
    coupon = {**TEN_OFF, "id": "co_jan_feb"}
    jan, feb, mar, change, apr = (ts("2025-01-01"), ts("2025-02-01"), ts("2025-03-01"),
                                  ts("2025-03-16"), ts("2025-04-01"))  # fmt: skip
    disc = {"id": "di_1", "object": "discount", "source": {"coupon": "co_jan_feb"},
            "start": jan, "end": mar}  # fmt: skip
    sub = subscription(cust, [(pr, 10)], status="canceled", ended_at=apr,
                       cancel_at_period_end=True, discounts=["di_1"])  # fmt: skip
    invoices = [
        invoice(cust, [line(sub, pr, jan, feb, quantity=5, discount=500)], sub=sub),
        invoice(cust, [line(sub, pr, feb, mar, quantity=5, discount=500)], sub=sub),
        invoice(cust, [line(sub, pr, mar, apr, quantity=5)], sub=sub),
        invoice(
            cust,
            [
                line(sub, pr, change, apr, amount=-2_500, quantity=5, proration=True),
                line(sub, pr, change, apr, amount=5_000, quantity=10, proration=True),
            ],
            sub=sub,
            created=change,
        ),
    ]
    table = ledger_from_objects(customers=[cust], products=[seats], prices=[pr],
                                coupons=[coupon], discounts=[disc], subscriptions=[sub],
                                invoices=invoices)  # fmt: skip
    periods = [(r["start_date"], float(r["mrr"])) for r in table.to_pylist()]
    # 5 seats less 10% while the discount ran, 5 full-price seats, then 10 full-price seats
    assert periods == [
        (date(2025, 1, 1), 45.0),
        (date(2025, 2, 1), 45.0),
        (date(2025, 3, 1), 50.0),
        (date(2025, 3, 16), 100.0),
    ]


# --- discounts, taxes, prices ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "coupon", "currency", "expected"),
    [
        (10_000, None, "usd", 10_000),
        (10_000, {"percent_off": 10.0}, "usd", 9_000),
        (10_005, {"percent_off": 10.0}, "usd", 9_004),  # the cut 1,000.5 rounds half up
        (10_000, {"percent_off": 0.0}, "usd", 10_000),
        (10_000, {"amount_off": 500, "currency": "usd"}, "usd", 9_500),
        (300, {"amount_off": 500, "currency": "usd"}, "usd", 0),  # never below zero
        (500, {"amount_off": 500, "currency": "usd"}, "usd", 0),
        # another currency: its own amount from currency_options, else no discount
        (10_000, {"amount_off": 500, "currency": "usd",
                  "currency_options": {"eur": {"amount_off": 400}}}, "eur", 9_600),
        (10_000, {"amount_off": 500, "currency": "usd"}, "eur", 10_000),
        (10_000, {"amount_off": None, "currency": "usd"}, "usd", 10_000),
        # the coupon's own currency takes its own amount, whatever the options say
        (10_000, {"amount_off": 500, "currency": "usd",
                  "currency_options": {"usd": {"amount_off": 900}}}, "usd", 9_500),
    ],
)  # fmt: skip
def test_discounted_amounts(amount, coupon, currency, expected):
    assert rules.discounted(amount, coupon, currency) == expected


@pytest.mark.parametrize(
    ("net", "rates", "expected"),
    [
        (12_500, [{"inclusive": True, "percentage": 25.0}], 10_000),
        (12_500, [{"inclusive": False, "percentage": 25.0}], 12_500),  # exclusive: not in net
        (12_500, [{"inclusive": True, "percentage": None}], 12_500),
        (10_001, [{"inclusive": True, "percentage": 20.0}], 8_334),  # tax 1,666.83 -> 1,667
        (11_000, [], 11_000),
    ],
)
def test_inclusive_tax_is_taken_out(net, rates, expected):
    assert rules.without_inclusive_tax(net, rates) == expected


@pytest.mark.parametrize(
    ("currency", "digits"), [("usd", 2), ("JPY", 0), ("krw", 0), ("kwd", 3), ("BHD", 3), ("eur", 2)]
)
def test_minor_units(currency, digits):
    assert rules.minor_units(currency) == digits


@pytest.mark.parametrize(
    ("price", "quantity", "expected"),
    [
        ({"unit_amount": 1_000}, 3, 3_000),
        ({"unit_amount": 1_000}, None, 1_000),
        ({"unit_amount_decimal": "12.5", "unit_amount": 12}, 3, 38),  # 37.5 rounds half up
        ({"unit_amount": None}, 1, None),
        # transform_quantity: 7 units in packs of 5 -> 2 packs (up) or 1 (down)
        ({"unit_amount": 100, "transform_quantity": {"divide_by": 5, "round": "up"}}, 7, 200),
        ({"unit_amount": 100, "transform_quantity": {"divide_by": 5, "round": "down"}}, 7, 100),
        ({"unit_amount": 100, "transform_quantity": {"divide_by": 5, "round": "up"}}, 5, 100),
    ],
)
def test_per_unit_prices(price, quantity, expected):
    assert rules.price_amount(price, quantity) == expected


TIERS = [
    {"up_to": 10, "unit_amount": 1_000, "flat_amount": None},
    {"up_to": 20, "unit_amount": 800, "flat_amount": 500},
    {"up_to": None, "unit_amount": 500, "flat_amount": None},
]
# the same tiers with sub-cent decimal amounts, which take precedence over the integer ones
DECIMAL_TIERS = [
    {"up_to": 10, "unit_amount_decimal": "999.5", "unit_amount": 999},
    {"up_to": None, "unit_amount_decimal": "0.25", "unit_amount": 0,
     "flat_amount_decimal": "100.5", "flat_amount": 100},
]  # fmt: skip


@pytest.mark.parametrize(
    ("mode", "quantity", "expected"),
    [
        ("volume", 10, 10_000),  # on the first tier's bound: still the first tier
        ("volume", 11, 9_300),  # all 11 at the second tier's price, plus its flat fee
        ("volume", 20, 16_500),
        ("volume", 25, 12_500),
        ("graduated", 10, 10_000),
        ("graduated", 11, 10_000 + 800 + 500),
        ("graduated", 25, 10_000 + 8_000 + 500 + 2_500),
        ("graduated", 0, 0),
    ],
)
def test_tiered_prices(mode, quantity, expected):
    price = {"billing_scheme": "tiered", "tiers_mode": mode, "tiers": TIERS}
    assert rules.price_amount(price, quantity) == expected


@pytest.mark.parametrize(
    ("mode", "quantity", "expected"),
    [
        ("volume", 2, 1_999),  # 2 x 999.5
        ("volume", 12, 104),  # 12 x 0.25 + 100.5 = 103.5, rounded half up
        ("graduated", 12, 10_096),  # 10 x 999.5 + 2 x 0.25 + 100.5
    ],
)
def test_tiers_use_their_decimal_amounts(mode, quantity, expected):
    price = {"billing_scheme": "tiered", "tiers_mode": mode, "tiers": DECIMAL_TIERS}
    assert rules.price_amount(price, quantity) == expected


def test_a_flat_only_tier_adds_its_fee_and_nothing_per_unit():
    tiers = [{"up_to": None, "flat_amount": 2_500}]
    price = {"billing_scheme": "tiered", "tiers_mode": "volume", "tiers": tiers}
    assert rules.price_amount(price, 7) == 2_500


def test_a_volume_price_without_a_tier_for_the_quantity_or_without_tiers_cannot_be_valued():
    capped = {"billing_scheme": "tiered", "tiers_mode": "volume", "tiers": TIERS[:1]}
    assert rules.price_amount(capped, 11) is None
    assert rules.price_amount({"billing_scheme": "tiered", "tiers": []}, 1) is None


def test_the_tax_rates_of_an_item_else_the_subscriptions():
    own = [{"id": "txr_item", "percentage": 20.0, "inclusive": True}]
    default = [{"id": "txr_default", "percentage": 10.0, "inclusive": False}]
    sub = {
        "default_tax_rates": default,
        "items": {"data": [{"price": {"id": "price_a"}, "tax_rates": own},
                           {"price": "price_b", "tax_rates": []}]},
    }  # fmt: skip
    assert rules.item_tax_rates(sub, "price_a") == own
    assert rules.item_tax_rates(sub, "price_b") == default
    assert rules.item_tax_rates(sub, "price_c") == default
    assert rules.item_tax_rates({}, "price_a") == []


def test_full_period_net_discounts_then_removes_inclusive_tax():
    vat = [{"inclusive": True, "percentage": 25.0}]
    value = rules.full_period_net(
        {"unit_amount": 1_000}, 10, coupon={"percent_off": 20.0}, tax_rates=vat, currency="usd"
    )
    assert value == 6_400
    # an amount-off coupon in the line's currency
    off = {"amount_off": 1_000, "currency": "eur"}
    assert rules.full_period_net({"unit_amount": 1_000}, 10, coupon=off, tax_rates=[],
                                 currency="eur") == 9_000  # fmt: skip
    assert rules.full_period_net({"unit_amount": None}, 1, coupon=None, tax_rates=[],
                                 currency="usd") is None  # fmt: skip


@pytest.mark.parametrize(
    ("instant", "zone", "day"),
    [
        (ts("2025-01-31T23:30"), "UTC", date(2025, 1, 31)),
        (ts("2025-01-31T23:30"), "Europe/Paris", date(2025, 2, 1)),
        (ts("2025-02-01T03:00"), "America/New_York", date(2025, 1, 31)),
    ],
)
def test_local_dates_are_the_reporting_timezones_calendar_day(instant, zone, day):
    assert rules.local_date(instant, ZoneInfo(zone)) == day


@pytest.mark.parametrize(
    ("value", "rounded"), [("2.5", 3), ("-2.5", -3), ("2.4999", 2), ("0.5", 1), ("7", 7)]
)
def test_round_half_up(value, rounded):
    assert rules.round_half_up(Decimal(value)) == rounded


@pytest.mark.parametrize(
    ("reason", "kind"),
    [
        ("payment_failed", "involuntary"),
        ("payment_disputed", "involuntary"),
        ("cancellation_requested", "voluntary"),
        (None, "voluntary"),
    ],
)
def test_the_churn_kind_follows_the_cancellation_reason(reason, kind):
    pro = product("Pro")
    cust = customer()
    pr = price(pro, 10_000)
    sub = subscription(cust, [(pr, 1)], status="canceled", ended_at=ts("2025-03-01"),
                       reason=reason)  # fmt: skip
    billed = invoice(cust, [line(sub, pr, ts("2025-02-01"), ts("2025-03-01"))], sub=sub)
    table = ledger_from_objects(customers=[cust], products=[pro], prices=[pr],
                                subscriptions=[sub], invoices=[billed])  # fmt: skip
    assert [r["churn_kind"] for r in table.to_pylist()] == [kind]

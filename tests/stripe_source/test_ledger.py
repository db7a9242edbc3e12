"""Stripe objects -> revenue ledger, one rule of metrics.md section 1 per test.

Each test writes the few Stripe objects a case needs by hand and reads back the ledger rows
(or the MRR the ledger gives at a month end, the way the engine reads it).
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from nrr.errors import NrrError
from nrr.stripe_source.ledger import ledger_from_objects
from tests.stripe_source.objects import customer, invoice, line, price, product, subscription, ts

PRO = product("Pro")
SEATS = product("Seats")
SSO = product("SSO add-on")


def rows(table) -> list[dict[str, Any]]:
    return table.to_pylist()


def mrr_at(table, month: str, customer_id: str | None = None) -> float:
    """MRR at the last instant of `month` (YYYY-MM), as the engine counts ledger rows."""
    year, mon = map(int, month.split("-"))
    next_month = date(year + mon // 12, mon % 12 + 1, 1)
    total = 0.0
    for row in rows(table):
        if customer_id and row["customer_id"] != customer_id:
            continue
        ends = row["end_date"]
        if row["start_date"] < next_month and (ends is None or ends >= next_month):
            total += float(row["mrr"])
    return round(total, 6)


def ledger(**objects):
    objects.setdefault("products", [PRO, SEATS, SSO])
    return ledger_from_objects(**objects)


def monthly_invoices(cust, sub, pr, months: list[str], **line_args):
    """One paid renewal invoice per month start, each billing [month, next month)."""
    bounds = [ts(f"{m}-01") for m in months]
    nxt = months[-1]
    year, mon = map(int, nxt.split("-"))
    bounds.append(ts(f"{year + mon // 12}-{mon % 12 + 1:02d}-01"))
    return [
        invoice(cust, [line(sub, pr, bounds[i], bounds[i + 1], **line_args)], sub=sub)
        for i in range(len(months))
    ]


def test_monthly_plan_is_its_amount_every_month_and_ends_with_the_subscription():
    cust = customer("cus_a")
    pr = price(PRO, 10_000)
    sub = subscription(
        cust,
        [(pr, 1)],
        status="canceled",
        ended_at=ts("2025-04-01"),
        reason="cancellation_requested",
    )
    table = ledger(
        customers=[cust],
        prices=[pr],
        subscriptions=[sub],
        invoices=monthly_invoices(cust, sub, pr, ["2025-01", "2025-02", "2025-03"]),
    )
    assert [mrr_at(table, m) for m in ("2024-12", "2025-01", "2025-02", "2025-03", "2025-04")] == [
        0,
        100,
        100,
        100,
        0,
    ]
    last = max(rows(table), key=lambda r: r["start_date"])
    assert last["end_date"] == date(2025, 4, 1) and last["churn_kind"] == "voluntary"
    assert {r["plan"] for r in rows(table)} == {"Pro"}
    assert {r["billing_interval"] for r in rows(table)} == {"month"}


def test_annual_plan_of_1200_is_100_in_each_of_its_12_months():
    cust = customer()
    pr = price(PRO, 120_000, interval="year")
    sub = subscription(cust, [(pr, 1)], status="canceled", ended_at=ts("2026-01-01"))
    inv = invoice(cust, [line(sub, pr, ts("2025-01-01"), ts("2026-01-01"))], sub=sub)
    table = ledger(customers=[cust], prices=[pr], subscriptions=[sub], invoices=[inv])
    assert [mrr_at(table, f"2025-{m:02d}") for m in range(1, 13)] == [100.0] * 12
    assert mrr_at(table, "2026-01") == 0
    assert rows(table)[0]["billing_interval"] == "year"


@pytest.mark.parametrize(
    ("interval", "count", "amount", "monthly", "label"),
    [
        ("month", 3, 30_000, 100.0, "quarter"),
        ("month", 6, 60_000, 100.0, "half-year"),
        ("year", 2, 240_000, 100.0, "2 years"),
        ("week", 1, 1_200, 12 * 52 / 12, "week"),
        ("week", 2, 2_400, 24 * 52 / 24, "2 weeks"),
        ("day", 1, 100, 365 / 12, "day"),
    ],
)
def test_intervals_normalise_to_a_month_never_by_counting_days(
    interval, count, amount, monthly, label
):
    cust = customer()
    pr = price(PRO, amount, interval=interval, count=count)
    sub = subscription(cust, [(pr, 1)])
    start = ts("2025-02-10")
    inv = invoice(cust, [line(sub, pr, start, start + 86_400)], sub=sub)  # live: runs on
    table = ledger(customers=[cust], prices=[pr], subscriptions=[sub], invoices=[inv])
    (row,) = rows(table)
    assert float(row["mrr"]) == pytest.approx(monthly, abs=1e-6)
    assert row["billing_interval"] == label
    assert row["end_date"] is None  # a live subscription's latest period runs on


def test_seats_tiers_and_add_ons_use_the_billed_line_amounts():
    cust = customer()
    seat = price(SEATS, None, tiers=[{"up_to": 10, "unit_amount": 1_000}], tiers_mode="volume")
    sso = price(SSO, 5_000)
    sub = subscription(cust, [(seat, 12), (sso, 1)])
    start, end = ts("2025-03-01"), ts("2025-04-01")
    inv = invoice(
        cust,
        [line(sub, seat, start, end, amount=11_500, quantity=12), line(sub, sso, start, end)],
        sub=sub,
    )
    table = ledger(customers=[cust], prices=[seat, sso], subscriptions=[sub], invoices=[inv])
    assert mrr_at(table, "2025-03") == 165.0
    assert sorted(r["plan"] for r in rows(table)) == ["SSO add-on", "Seats"]


def test_discounts_reduce_mrr_while_they_apply_and_their_end_is_an_expansion():
    cust = customer()
    pr = price(PRO, 10_000)
    sub = subscription(cust, [(pr, 1)])
    invoices = monthly_invoices(cust, sub, pr, ["2025-01", "2025-02"], discount=2_000)
    invoices += monthly_invoices(cust, sub, pr, ["2025-03"])
    table = ledger(customers=[cust], prices=[pr], subscriptions=[sub], invoices=invoices)
    assert [mrr_at(table, m) for m in ("2025-01", "2025-02", "2025-03", "2025-04")] == [
        80,
        80,
        100,
        100,
    ]


def test_exclusive_tax_is_not_revenue_and_inclusive_tax_is_removed():
    cust = customer()
    excl = price(PRO, 10_000)
    incl = price(SSO, 12_000)
    sub = subscription(cust, [(excl, 1), (incl, 1)])
    start, end = ts("2025-05-01"), ts("2025-06-01")
    inv = invoice(
        cust,
        [
            line(sub, excl, start, end, tax=2_000, tax_behavior="exclusive"),
            line(sub, incl, start, end, tax=2_000, tax_behavior="inclusive"),
        ],
        sub=sub,
    )
    table = ledger(customers=[cust], prices=[excl, incl], subscriptions=[sub], invoices=[inv])
    assert mrr_at(table, "2025-05") == 200.0


def test_mid_cycle_upgrade_counts_the_new_price_from_the_change_at_a_full_period():
    cust = customer()
    pr = price(SEATS, 1_000)
    sub = subscription(cust, [(pr, 10)])
    jan, change, feb, mar = ts("2025-01-01"), ts("2025-01-20"), ts("2025-02-01"), ts("2025-03-01")
    invoices = [
        invoice(cust, [line(sub, pr, jan, feb, quantity=5)], sub=sub),
        invoice(
            cust,
            [
                line(sub, pr, change, feb, amount=-1_935, quantity=5, proration=True),
                line(sub, pr, change, feb, amount=3_871, quantity=10, proration=True),
            ],
            sub=sub,
            created=change,
        ),
        invoice(cust, [line(sub, pr, feb, mar, quantity=10)], sub=sub),
    ]
    table = ledger(customers=[cust], prices=[pr], subscriptions=[sub], invoices=invoices)
    spans = [(r["start_date"], r["end_date"], float(r["mrr"])) for r in rows(table)]
    assert spans == [
        (date(2025, 1, 1), date(2025, 1, 20), 50.0),
        (date(2025, 1, 20), date(2025, 2, 1), 100.0),  # full period, not the prorated 38.71
        (date(2025, 2, 1), None, 100.0),
    ]
    assert mrr_at(table, "2025-01") == 100.0


def test_a_change_without_a_later_renewal_is_valued_with_the_price_discount_and_tax():
    cust = customer()
    pr = price(SEATS, 1_000)
    coupon = {"id": "co_20", "object": "coupon", "percent_off": 20.0, "duration": "forever"}
    disc = {"id": "di_20", "object": "discount", "source": {"coupon": "co_20"}, "start": 1}
    vat = {"id": "txr_1", "object": "tax_rate", "percentage": 25.0, "inclusive": True}
    sub = subscription(
        cust,
        [(pr, 10)],
        status="canceled",
        ended_at=ts("2025-02-01"),
        cancel_at_period_end=True,
        discounts=["di_20"],
        tax_rates=[vat],
    )
    jan, change, feb = ts("2025-01-01"), ts("2025-01-16"), ts("2025-02-01")
    invoices = [
        invoice(
            cust,
            [
                line(
                    sub, pr, jan, feb, quantity=5, discount=1_000, tax=800, tax_behavior="inclusive"
                )
            ],
            sub=sub,
        ),
        invoice(
            cust,
            [
                line(sub, pr, change, feb, amount=-2_065, quantity=5, proration=True),
                line(
                    sub,
                    pr,
                    change,
                    feb,
                    amount=4_129,
                    quantity=10,
                    proration=True,
                    tax=826,
                    tax_behavior="inclusive",
                ),
            ],
            sub=sub,
            created=change,
        ),
    ]
    table = ledger(
        customers=[cust],
        prices=[pr],
        coupons=[coupon],
        discounts=[disc],
        subscriptions=[sub],
        invoices=invoices,
    )
    # 10 seats x 10.00 = 100.00, less 20% = 80.00, less the 25% VAT inside = 64.00
    assert mrr_at(table, "2025-01") == 64.0
    assert [float(r["mrr"]) for r in rows(table)] == [32.0, 64.0]


def test_removing_an_item_mid_cycle_stops_it_at_the_change():
    cust = customer()
    base, addon = price(PRO, 10_000), price(SSO, 5_000)
    sub = subscription(cust, [(base, 1)])
    jan, change, feb = ts("2025-01-01"), ts("2025-01-10"), ts("2025-02-01")
    invoices = [
        invoice(cust, [line(sub, base, jan, feb), line(sub, addon, jan, feb)], sub=sub),
        invoice(
            cust,
            [line(sub, addon, change, feb, amount=-3_548, proration=True)],
            sub=sub,
            created=change,
        ),
        invoice(cust, [line(sub, base, feb, ts("2025-03-01"))], sub=sub),
    ]
    table = ledger(customers=[cust], prices=[base, addon], subscriptions=[sub], invoices=invoices)
    addon_rows = [r for r in rows(table) if r["plan"] == "SSO add-on"]
    assert [(r["start_date"], r["end_date"]) for r in addon_rows] == [
        (date(2025, 1, 1), date(2025, 1, 10))
    ]
    assert mrr_at(table, "2025-01") == 100.0


def test_metered_usage_counts_in_the_service_period_it_bills_for():
    cust = customer()
    api = price(PRO, 1, usage_type="metered")
    sub = subscription(cust, [(api, None)])
    # usage of January, billed on February 1st
    inv = invoice(
        cust,
        [line(sub, api, ts("2025-01-01"), ts("2025-02-01"), amount=34_567, quantity=34_567)],
        sub=sub,
        created=ts("2025-02-01"),
    )
    table = ledger(customers=[cust], prices=[api], subscriptions=[sub], invoices=[inv])
    assert mrr_at(table, "2025-01") == 345.67
    # February's usage is not invoiced yet: the last invoiced usage carries on (provisional,
    # metrics.md 1.1), so a running usage customer is not churned by a missing invoice
    assert mrr_at(table, "2025-02") == 345.67
    ended = subscription(
        cust, [(api, None)], status="canceled", ended_at=ts("2025-02-01"), reason="x"
    )
    final = invoice(
        cust,
        [line(ended, api, ts("2025-01-01"), ts("2025-02-01"), amount=34_567, quantity=34_567)],
        sub=ended,
        created=ts("2025-02-01"),
    )
    table = ledger(customers=[cust], prices=[api], subscriptions=[ended], invoices=[final])
    assert mrr_at(table, "2025-01") == 345.67
    assert mrr_at(table, "2025-02") == 0  # ended: nothing more to invoice


def test_trials_are_zero_and_one_off_charges_are_excluded():
    cust = customer()
    pr = price(PRO, 10_000)
    setup = price(PRO, 50_000, interval=None)
    sub = subscription(cust, [(pr, 1)])
    trial_end, paid_end = ts("2025-01-15"), ts("2025-02-15")
    invoices = [
        invoice(cust, [line(sub, pr, ts("2025-01-01"), trial_end, amount=0)], sub=sub),
        invoice(
            cust,
            [line(sub, pr, trial_end, paid_end), line(sub, setup, trial_end, trial_end)],
            sub=sub,
        ),
    ]
    table = ledger(customers=[cust], prices=[pr, setup], subscriptions=[sub], invoices=invoices)
    assert [(r["start_date"], float(r["mrr"])) for r in rows(table)] == [(date(2025, 1, 15), 100.0)]


def test_void_and_uncollectible_invoices_never_count():
    """metrics.md 1.1: invoices marked uncollectible count like void: not revenue."""
    cust = customer()
    pr = price(PRO, 10_000)
    sub = subscription(
        cust, [(pr, 1)], status="canceled", ended_at=ts("2025-03-10"), reason="payment_failed"
    )
    jan, feb, mar, apr = (ts(f"2025-{m:02d}-01") for m in (1, 2, 3, 4))
    invoices = [
        invoice(cust, [line(sub, pr, jan, feb)], sub=sub),
        invoice(cust, [line(sub, pr, feb, mar)], sub=sub, status="uncollectible"),
        invoice(cust, [line(sub, pr, mar, apr)], sub=sub, status="void"),
    ]
    table = ledger(customers=[cust], prices=[pr], subscriptions=[sub], invoices=invoices)
    assert [mrr_at(table, m) for m in ("2025-01", "2025-02", "2025-03")] == [100, 0, 0]
    last = max(rows(table), key=lambda r: r["start_date"])
    assert last["end_date"] == date(2025, 2, 1)
    # the subscription's last revenue says how it ended (the engine reads it there)
    assert last["churn_kind"] == "involuntary"


def test_cancel_at_period_end_counts_until_the_period_really_ends():
    cust = customer()
    pr = price(PRO, 120_000, interval="year")
    # cancellation requested in March; the paid year runs to December 31st
    live = subscription(cust, [(pr, 1)], cancel_at_period_end=True, cancel_at=ts("2026-01-01"))
    inv = invoice(cust, [line(live, pr, ts("2025-01-01"), ts("2026-01-01"))], sub=live)
    table = ledger(customers=[cust], prices=[pr], subscriptions=[live], invoices=[inv])
    assert mrr_at(table, "2025-12") == 100.0
    assert mrr_at(table, "2026-01") == 0.0


def test_currencies_keep_their_own_minor_units():
    cust = customer()
    yen = price(PRO, 12_000, currency="jpy")
    sub = subscription(cust, [(yen, 1)])
    inv = invoice(cust, [line(sub, yen, ts("2025-01-01"), ts("2025-02-01"))], sub=sub)
    table = ledger(customers=[cust], prices=[yen], subscriptions=[sub], invoices=[inv])
    (row,) = rows(table)
    assert (row["currency"], float(row["mrr"])) == ("jpy", 12_000.0)


@pytest.mark.parametrize(
    ("zone", "start_day"), [("UTC", date(2025, 1, 31)), ("Europe/Paris", date(2025, 2, 1))]
)
def test_dates_are_days_in_the_reporting_timezone_floored(zone, start_day):
    cust = customer()
    pr = price(PRO, 10_000)
    sub = subscription(cust, [(pr, 1)])
    start = ts("2025-01-31T23:30")
    inv = invoice(cust, [line(sub, pr, start, ts("2025-02-28T23:30"))], sub=sub)
    table = ledger_from_objects(
        customers=[cust],
        prices=[pr],
        products=[PRO],
        subscriptions=[sub],
        invoices=[inv],
        timezone=zone,
    )
    assert rows(table)[0]["start_date"] == start_day


def test_attributes_come_from_the_customer_and_deleted_customers_keep_their_history():
    kept = customer("cus_kept", country="FR", channel="partner", region="emea")
    gone = {"id": "cus_gone", "object": "customer", "deleted": True}
    pr = price(PRO, 10_000)
    subs, invoices = [], []
    for cust in (kept, gone):
        sub = subscription(cust, [(pr, 1)])
        subs.append(sub)
        invoices.append(
            invoice(
                cust, [line(sub, pr, ts("2025-01-01"), ts("2025-02-01"))], sub=sub, country="DE"
            )
        )
    table = ledger_from_objects(
        customers=[kept, gone],
        prices=[pr],
        products=[PRO],
        subscriptions=subs,
        invoices=invoices,
        metadata_keys=["region"],
    )
    by_customer = {r["customer_id"]: r for r in rows(table)}
    assert by_customer["cus_kept"]["country"] == "FR"
    assert by_customer["cus_kept"]["channel"] == "partner"
    assert by_customer["cus_kept"]["region"] == "emea"
    assert by_customer["cus_gone"]["country"] == "DE"  # from its invoices
    assert by_customer["cus_gone"]["mrr"] == by_customer["cus_kept"]["mrr"]


def test_a_line_whose_price_is_missing_is_an_error_not_lost_revenue():
    cust = customer()
    pr = price(PRO, 10_000)
    sub = subscription(cust, [(pr, 1)])
    inv = invoice(cust, [line(sub, pr, ts("2025-01-01"), ts("2025-02-01"))], sub=sub)
    with pytest.raises(NrrError, match=r"bills price price_\d+, which is not in the Stripe lake"):
        ledger(customers=[cust], prices=[], subscriptions=[sub], invoices=[inv])

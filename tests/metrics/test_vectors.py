"""The worked examples of the metric contract (metrics.md section 5), through the real engine."""

from __future__ import annotations

from datetime import date

import pytest

from tests.metrics.harness import movements, mrr_by_month, run_engine, window_row

AS_OF = date(2025, 1, 1)
M0 = "2024-01-01"


def _cohort(start_end: dict[str, tuple[float, float]]) -> list[dict[str, object]]:
    """Customers with MRR `start` from January 2024 that move to `end` in July 2024."""
    rows: list[dict[str, object]] = []
    for customer, (start, end) in start_end.items():
        if start == end:
            rows.append({"customer_id": customer, "start_date": M0, "mrr": start})
            continue
        rows.append(
            {"customer_id": customer, "start_date": M0, "end_date": "2024-07-10", "mrr": start}
        )
        if end > 0:
            rows.append({"customer_id": customer, "start_date": "2024-07-10", "mrr": end})
    return rows


@pytest.mark.parametrize(
    ("start_end", "nrr", "grr"),
    [
        # 1. start 100k, +20k expansion, -2k contraction, -5k churn -> 113% / 93%
        (
            {"a": (50_000, 70_000), "b": (20_000, 18_000), "c": (5_000, 0), "d": (25_000, 25_000)},
            1.13,
            0.93,
        ),
        # 2. start 100k, +15k, -5k, -8k -> 102% / 87%
        (
            {"a": (40_000, 55_000), "b": (30_000, 25_000), "c": (8_000, 0), "d": (22_000, 22_000)},
            1.02,
            0.87,
        ),
        # 3. start 500k, +60k, -20k, -35k -> 101% / 89%
        (
            {
                "a": (200_000, 260_000),
                "b": (100_000, 80_000),
                "c": (35_000, 0),
                "d": (165_000, 165_000),
            },
            1.01,
            0.89,
        ),
    ],
    ids=["vector-1", "vector-2", "vector-3"],
)
def test_vectors_1_to_3_nrr_and_grr(start_end, nrr, grr):
    con, _ = run_engine(_cohort(start_end), AS_OF)
    row = window_row(con, AS_OF, 12)
    assert row["nrr"] == pytest.approx(nrr, abs=1e-12)
    assert row["grr"] == pytest.approx(grr, abs=1e-12)
    start = sum(s for s, _ in start_end.values())
    assert row["start_mrr"] == start
    assert row["end_mrr"] == pytest.approx(start * nrr)
    assert row["cohort_customers"] == 4
    assert row["retained_customers"] == 3


def test_vector_1_bands_and_waterfall():
    con, _ = run_engine(
        _cohort(
            {"a": (50_000, 70_000), "b": (20_000, 18_000), "c": (5_000, 0), "d": (25_000, 25_000)}
        ),
        AS_OF,
    )
    row = window_row(con, AS_OF, 12)
    assert row["benchmark_band"] == "healthy"  # company level: 100-120%
    assert row["grr_band"] == "excellent"  # GRR > 90%
    steps = con.execute(
        """select step, change, level from retention_waterfall
           where as_of = ? and window_months = 12 and dimension = 'all' order by step_order""",
        [AS_OF],
    ).fetchall()
    assert [s for s, _, _ in steps] == ["start", "contraction", "churn", "expansion", "nrr"]
    levels = {step: level for step, _, level in steps}
    assert levels["contraction"] == pytest.approx(0.98)
    assert levels["churn"] == pytest.approx(0.93)
    assert levels["expansion"] == pytest.approx(1.13)
    assert levels["nrr"] == pytest.approx(1.13)


def test_vector_4_annual_plan_is_100_in_each_of_its_12_months():
    # an annual plan of 1,200 billed once in January, as Stripe bills it: a yearly price of
    # 120,000 cents on one invoice line for the year. The Stripe derivation normalises it
    # (interval 'year' -> / 12), and the engine counts the result month by month.
    from nrr.stripe_source.ledger import ledger_from_objects
    from tests.stripe_source.objects import (
        customer,
        invoice,
        line,
        price,
        product,
        subscription,
        ts,
    )

    plan = product("Annual")
    cust = customer("annual")
    yearly = price(plan, 120_000, interval="year")
    sub = subscription(cust, [(yearly, 1)], status="canceled", ended_at=ts("2025-01-01"))
    billed = invoice(cust, [line(sub, yearly, ts("2024-01-01"), ts("2025-01-01"))], sub=sub)
    ledger = ledger_from_objects(
        customers=[cust], products=[plan], prices=[yearly], subscriptions=[sub], invoices=[billed]
    )
    (row,) = ledger.to_pylist()
    assert (row["billing_interval"], row["mrr"]) == ("year", 100.0)

    con, _ = run_engine(ledger.to_pylist(), date(2025, 3, 1))
    by_month = mrr_by_month(con, "annual")
    assert by_month == {f"2024-{m:02d}": 100.0 for m in range(1, 13)}
    assert movements(con, "annual") == [
        ("2024-01", "annual", "new", 100.0),
        ("2025-01", "annual", "churn", 100.0),
    ]


@pytest.mark.parametrize(("policy", "nrr", "grr"), [("exclude", 0.75, 0.5), ("include", 1.25, 1.0)])
def test_vector_5_reactivation_policy(policy, nrr, grr):
    # A 100 -> 150; B 100 -> 0 in month 5 and back to 100 in month 9; 12-month window
    rows = [
        {"customer_id": "A", "start_date": "2024-01-01", "end_date": "2024-10-01", "mrr": 100},
        {"customer_id": "A", "start_date": "2024-10-01", "mrr": 150},
        {"customer_id": "B", "start_date": "2024-01-01", "end_date": "2024-05-01", "mrr": 100},
        {"customer_id": "B", "start_date": "2024-09-01", "mrr": 100},
    ]
    con, _ = run_engine(rows, AS_OF, policy=policy)
    row = window_row(con, AS_OF, 12)
    assert row["start_mrr"] == 200
    assert row["nrr"] == pytest.approx(nrr)
    assert row["grr"] == pytest.approx(grr)
    assert row["reactivated_mrr"] == 100
    assert row["reactivation_policy"] == policy
    if policy == "exclude":
        assert row["end_mrr"] == 150
        assert row["churn"] == 100
        assert row["retained_customers"] == 1
    else:
        assert row["end_mrr"] == 250
        assert row["churn"] == 0
        assert row["retained_customers"] == 2


def test_vector_6_dropping_one_of_two_subscriptions_is_contraction():
    rows = [
        {"customer_id": "c", "start_date": "2024-01-01", "mrr": 50},
        {"customer_id": "c", "start_date": "2024-01-01", "end_date": "2024-06-01", "mrr": 50},
    ]
    con, _ = run_engine(rows, date(2024, 12, 1))
    assert movements(con, "c") == [
        ("2024-01", "c", "new", 100.0),
        ("2024-06", "c", "contraction", 50.0),
    ]


def test_vector_7_120_percent_compounds():
    # a cohort of 1,000,000 growing 20% a year: 1.2M / 1.44M / 1.728M after 1 / 2 / 3 years
    rows = [
        {
            "customer_id": "big",
            "start_date": "2021-01-01",
            "end_date": "2022-01-01",
            "mrr": 600_000,
        },
        {
            "customer_id": "big",
            "start_date": "2022-01-01",
            "end_date": "2023-01-01",
            "mrr": 720_000,
        },
        {
            "customer_id": "big",
            "start_date": "2023-01-01",
            "end_date": "2024-01-01",
            "mrr": 864_000,
        },
        {"customer_id": "big", "start_date": "2024-01-01", "mrr": 1_036_800},
        {
            "customer_id": "other",
            "start_date": "2021-01-01",
            "end_date": "2022-01-01",
            "mrr": 400_000,
        },
        {
            "customer_id": "other",
            "start_date": "2022-01-01",
            "end_date": "2023-01-01",
            "mrr": 480_000,
        },
        {
            "customer_id": "other",
            "start_date": "2023-01-01",
            "end_date": "2024-01-01",
            "mrr": 576_000,
        },
        {"customer_id": "other", "start_date": "2024-01-01", "mrr": 691_200},
    ]
    con, _ = run_engine(rows, date(2024, 1, 1))
    for year in (2022, 2023, 2024):
        assert window_row(con, date(year, 1, 1), 12)["nrr"] == pytest.approx(1.2)
    cohort = dict(
        con.execute(
            """select age_months, mrr from cohort_retention
               where cohort_month = '2021-01-01' and age_months in (12, 24, 36)"""
        ).fetchall()
    )
    assert cohort == {
        12: pytest.approx(1_200_000),
        24: pytest.approx(1_440_000),
        36: pytest.approx(1_728_000),
    }

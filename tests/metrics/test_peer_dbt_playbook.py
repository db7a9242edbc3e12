"""Comparison with the dbt MRR playbook on its own sample seed.

The playbook (github.com/dbt-labs/mrr-playbook) classifies every customer-month as new,
churn, reactivation, upgrade or downgrade. Its rules, restated here in our own code: a
customer's revenue in a month is the amount of the period covering the month's first day
(`start_date <= month < end_date`); a month is active when that revenue is positive; the
first active month is `new`; an inactive month after an active one is `churn`, an active
month after an inactive one `reactivation`, a rise `upgrade`, a fall `downgrade`; one churn
row follows the last active month. The seed's dates are all month-aligned, so "covers the
first day" and our "covers the last instant" pick the same months, and the classifications
must agree month by month (upgrade = expansion, downgrade = contraction).
"""

from __future__ import annotations

import csv
from collections import defaultdict
from datetime import date
from pathlib import Path

from tests.metrics.harness import run_engine

SEED = Path(__file__).resolve().parents[1] / "data/peers/dbt_mrr_playbook_subscription_periods.csv"
PLAYBOOK_TO_CONTRACT = {
    "new": "new",
    "churn": "churn",
    "reactivation": "reactivation",
    "upgrade": "expansion",
    "downgrade": "contraction",
}


def _month(day: date, offset: int = 0) -> date:
    idx = day.year * 12 + day.month - 1 + offset
    return date(idx // 12, idx % 12 + 1, 1)


def playbook_categories(rows: list[dict[str, str]]) -> dict[tuple[date, str], tuple[str, float]]:
    """(month, customer) -> (playbook category, amount of the change), per the playbook."""
    periods: dict[str, list[tuple[date, date, float]]] = defaultdict(list)
    for row in rows:
        periods[row["customer_id"]].append(
            (
                date.fromisoformat(row["start_date"]),
                date.fromisoformat(row["end_date"]),
                float(row["monthly_amount"]),
            )
        )
    result: dict[tuple[date, str], tuple[str, float]] = {}
    for customer, spans in periods.items():
        month = _month(min(s for s, _, _ in spans))
        last = _month(max(e for _, e, _ in spans))
        series: list[tuple[date, float]] = []
        while month < last:
            amount = sum(a for s, e, a in spans if s <= month < e)
            series.append((month, amount))
            month = _month(month, 1)
        active_months = [m for m, a in series if a > 0]
        first_active, last_active = min(active_months), max(active_months)
        series.append((_month(last_active, 1), 0.0))  # the churn row after the last activity
        previous = 0.0
        for month, amount in series:
            if month == first_active:
                category = "new", amount
            elif amount == 0 and previous > 0:
                category = "churn", previous
            elif amount > 0 and previous == 0:
                category = "reactivation", amount
            elif amount > previous:
                category = "upgrade", amount - previous
            elif amount < previous:
                category = "downgrade", previous - amount
            else:
                category = None
            if category:
                result[(month, customer)] = category
            previous = amount
    return result


def test_movements_match_the_dbt_mrr_playbook_month_by_month():
    with SEED.open() as handle:
        rows = list(csv.DictReader(handle))
    expected = {
        key: (PLAYBOOK_TO_CONTRACT[category], amount)
        for key, (category, amount) in playbook_categories(rows).items()
    }
    ledger = [
        {
            "customer_id": row["customer_id"],
            "start_date": row["start_date"],
            "end_date": row["end_date"],
            "mrr": row["monthly_amount"],
        }
        for row in rows
    ]
    last_churn_month = max(month for month, _ in expected)
    con, _ = run_engine(ledger, last_churn_month)
    got = {
        (month, customer): (movement, amount)
        for month, customer, movement, amount in con.execute(
            "select month, customer_id, movement, amount from mrr_movements"
        ).fetchall()
    }
    assert len(expected) > 100  # the seed has 55 customers and 121 periods
    assert got == expected

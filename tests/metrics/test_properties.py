"""Property-based tests: the engine agrees with a literal reading of the contract on random
ledgers, the bridge reconciles, GRR never exceeds 1, NRR is end over start, and nothing
depends on row order or on how a customer's periods are split into rows."""

from __future__ import annotations

import random
from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.metrics import reference
from tests.metrics.harness import run_engine

AS_OF = date(2024, 12, 1)
AS_OF_IDX = reference.month_index(AS_OF)
FIRST = date(2023, 1, 1)

amounts = st.decimals(min_value=0, max_value=2000, places=2, allow_nan=False)


@st.composite
def ledger_rows(draw) -> list[dict[str, object]]:
    rows = []
    for _ in range(draw(st.integers(1, 12))):
        start = FIRST + timedelta(days=draw(st.integers(0, 700)))
        length = draw(st.one_of(st.none(), st.integers(0, 500)))
        rows.append(
            {
                "customer_id": draw(st.sampled_from("abcdef")),
                "start_date": start.isoformat(),
                "end_date": None
                if length is None
                else (start + timedelta(days=length)).isoformat(),
                "mrr": str(draw(amounts)),
                "plan": draw(st.sampled_from(["basic", "pro"])),
            }
        )
    return rows


# 30 random ledgers per property: the slowest metric tests (`-m "not slow"` skips them)
pytestmark = pytest.mark.slow

PROPERTY_SETTINGS = settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


def _tables(con) -> dict[str, list[tuple]]:
    return {
        "customer_mrr_monthly": con.execute(
            "select month, customer_id, mrr from customer_mrr_monthly order by all"
        ).fetchall(),
        "mrr_movements": con.execute(
            "select month, customer_id, movement, amount from mrr_movements order by all"
        ).fetchall(),
        "retention_windows": con.execute(
            """select as_of, window_months, dimension, segment, cohort_customers,
                      start_mrr, expansion, contraction, churn, reactivated_mrr, nrr, grr
               from retention_windows order by all"""
        ).fetchall(),
        "cohort_retention": con.execute(
            """select cohort_month, age_months, customers, start_mrr, mrr, retained_customers,
                      expansion, contraction, churn, reactivated_mrr, grr
               from cohort_retention order by all"""
        ).fetchall(),
    }


@PROPERTY_SETTINGS
@given(rows=ledger_rows(), policy=st.sampled_from(["exclude", "include"]))
def test_engine_matches_the_literal_contract(rows, policy):
    con, _ = run_engine(rows, AS_OF, policy=policy)
    first_idx = min(reference.month_index(date.fromisoformat(r["start_date"])) for r in rows)
    expected_mrr = reference.customer_month_mrr(rows, range(first_idx, AS_OF_IDX + 1))
    # the engine's history starts at the first month with revenue (the as-of month if none)
    history_start = min((idx for _, idx in expected_mrr), default=AS_OF_IDX)
    months = range(history_start, AS_OF_IDX + 1)
    spine = con.execute(
        "select min(as_of), max(as_of) from retention_windows where dimension = 'all'"
    ).fetchone()
    assert spine == (reference.first_day(history_start), AS_OF)
    got_mrr = {
        (c, reference.month_index(m)): Decimal(str(round(v, 6)))
        for m, c, v in _tables(con)["customer_mrr_monthly"]
    }
    assert got_mrr == expected_mrr

    expected_moves = sorted(
        (reference.first_day(i), c, kind, round(float(a), 6))
        for i, c, kind, a in reference.movements(expected_mrr, months)
    )
    got_moves = [(m, c, kind, round(a, 6)) for m, c, kind, a in _tables(con)["mrr_movements"]]
    assert sorted(got_moves) == expected_moves

    for n in (1, 3, 12):
        for m1 in months:
            expected = reference.window(expected_mrr, m1 - n, m1, policy)
            got = con.execute(
                """select cohort_customers, retained_customers, start_mrr, expansion,
                          contraction, churn, reactivated_mrr, nrr, grr
                   from retention_windows where as_of = ? and window_months = ?
                     and dimension = 'all'""",
                [reference.first_day(m1), n],
            ).fetchone()
            assert got[:2] == (expected.cohort, expected.retained)
            assert got[2:7] == pytest.approx(
                [
                    float(x)
                    for x in (
                        expected.start,
                        expected.expansion,
                        expected.contraction,
                        expected.churn,
                        expected.reactivated,
                    )
                ]
            )
            assert got[7] == pytest.approx(expected.nrr)
            assert got[8] == pytest.approx(expected.grr)

    cells = reference.cohort_windows(expected_mrr, AS_OF_IDX, policy)
    got_cells = {
        (reference.month_index(k), age): rest for k, age, *rest in _tables(con)["cohort_retention"]
    }
    assert got_cells.keys() == cells.keys()
    for key, w in cells.items():
        end = w.start + w.expansion - w.contraction - w.churn
        assert got_cells[key] == pytest.approx(
            [w.cohort, float(w.start), float(end), w.retained, float(w.expansion),
             float(w.contraction), float(w.churn), float(w.reactivated), w.grr]
        ), key  # fmt: skip


@PROPERTY_SETTINGS
@given(rows=ledger_rows(), policy=st.sampled_from(["exclude", "include"]))
def test_bridge_reconciles_grr_at_most_one_and_nrr_is_end_over_start(rows, policy):
    con, _ = run_engine(rows, AS_OF, policy=policy, dimensions=("plan",))
    worst = con.execute("select coalesce(max(abs(difference)), 0) from mrr_bridge").fetchone()[0]
    assert worst < 1e-6
    # the bridge's closing MRR is the customer-month table's total, month by month
    mismatches = con.execute(
        """select count(*) from mrr_bridge b
           left join (select month, sum(mrr) as total from customer_mrr_monthly group by month) t
             using (month)
           where b.dimension = 'all' and abs(b.closing_mrr - coalesce(t.total, 0)) > 1e-6"""
    ).fetchone()[0]
    assert mismatches == 0
    assert con.execute("select count(*) from retention_windows where grr > 1").fetchone()[0] == 0
    assert con.execute("select count(*) from cohort_retention where grr > 1").fetchone()[0] == 0
    off = con.execute(
        """select count(*) from retention_windows
           where start_mrr > 0 and abs(nrr - end_mrr / start_mrr) > 1e-9"""
    ).fetchone()[0]
    assert off == 0
    # every cohort's NRR is its members' end MRR over their start MRR
    off = con.execute(
        "select count(*) from cohort_retention where abs(nrr - mrr / start_mrr) > 1e-9"
    ).fetchone()[0]
    assert off == 0


@PROPERTY_SETTINGS
@given(rows=ledger_rows(), seed=st.integers(0, 10_000))
def test_results_do_not_depend_on_row_order(rows, seed):
    shuffled = rows[:]
    random.Random(seed).shuffle(shuffled)
    con_a, _ = run_engine(rows, AS_OF, dimensions=("plan",))
    con_b, _ = run_engine(shuffled, AS_OF, dimensions=("plan",))
    assert _tables(con_a) == _tables(con_b)


def _split(row: dict[str, object], how: str, day_offset: int) -> list[dict[str, object]]:
    """The same revenue in two rows: cut in time at a day, or cut in amount in two parts."""
    start = date.fromisoformat(str(row["start_date"]))
    end = date.fromisoformat(str(row["end_date"])) if row["end_date"] else None
    if how == "time":
        length = (end - start).days if end else 900
        cut = start + timedelta(days=min(day_offset, length))
        return [
            {**row, "end_date": cut.isoformat()},
            {**row, "start_date": cut.isoformat()},
        ]
    amount = Decimal(str(row["mrr"]))
    part = (amount * Decimal(day_offset % 100) / 100).quantize(Decimal("0.01"))
    return [{**row, "mrr": str(part)}, {**row, "mrr": str(amount - part)}]


@PROPERTY_SETTINGS
@given(
    rows=ledger_rows(),
    which=st.integers(0, 11),
    how=st.sampled_from(["time", "amount"]),
    day_offset=st.integers(0, 400),
)
def test_results_do_not_depend_on_how_periods_are_split(rows, which, how, day_offset):
    index = which % len(rows)
    split_rows = rows[:index] + _split(rows[index], how, day_offset) + rows[index + 1 :]
    con_a, _ = run_engine(rows, AS_OF, dimensions=("plan",))
    con_b, _ = run_engine(split_rows, AS_OF, dimensions=("plan",))
    assert _tables(con_a) == _tables(con_b)

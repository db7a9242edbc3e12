"""The edges of the rules, where a plausible one-character bug hides: band bounds hit exactly,
a churn-kind tie, a bridge off by one cent, exchange rates that move inside a window.

Each test here fails on a small planted bug that the rest of the metric tests let through
(docs/mutation.md lists them); they run the real engine on a few rows, or the engine's own
SQL snippet on a few values.
"""

from __future__ import annotations

import itertools
from datetime import date

import duckdb
import pytest

from nrr.errors import BridgeError
from nrr.metrics.engine import BRIDGE_TOLERANCE, Engine, EngineParams, macros_module
from tests.metrics.harness import movements, mrr_by_month, run_engine, window_row

# ---------------------------------------------------------------------------------------
# ACV bands: SMB below the SMB bound, Enterprise from the Enterprise bound up (inclusive)


@pytest.mark.parametrize("sql_type", ["decimal(18, 6)", "double"])
@pytest.mark.parametrize(
    ("smb_upper", "enterprise_lower", "mrr", "band"),
    [
        # an Enterprise bound of 120,000: 10,000 a month is exactly on it
        (10_000.0, 120_000.0, "10000", "Enterprise"),
        (10_000.0, 120_000.0, "9999.99", "Mid-Market"),
        (10_000.0, 120_000.0, "10000.01", "Enterprise"),
        # the default bound of 100,000: 100,000 / 12 is not a cent amount, so straddle it
        (10_000.0, 100_000.0, "8333.34", "Enterprise"),
        (10_000.0, 100_000.0, "8333.33", "Mid-Market"),
        # an SMB bound of 12,000: 1,000 a month is exactly on it, and is Mid-Market
        (12_000.0, 120_000.0, "1000", "Mid-Market"),
        (12_000.0, 120_000.0, "999.99", "SMB"),
        # bounds that meet: nothing is Mid-Market
        (12_000.0, 12_000.0, "1000", "Enterprise"),
        (12_000.0, 12_000.0, "999.99", "SMB"),
    ],
)
def test_acv_band_of_an_amount_on_and_around_each_bound(
    smb_upper, enterprise_lower, mrr, band, sql_type
):
    params = EngineParams(
        as_of=date(2024, 1, 1), acv_smb_upper=smb_upper, acv_enterprise_lower=enterprise_lower
    )
    expression = macros_module(params).acv_band(f"cast({mrr!r} as {sql_type})")
    assert duckdb.connect().execute(f"select {expression}").fetchone()[0] == band


def test_an_enterprise_bound_hit_exactly_is_enterprise_in_every_table():
    rows = [
        {"customer_id": "on", "start_date": "2024-01-01", "mrr": 10_000},  # ACV 120,000
        {"customer_id": "below", "start_date": "2024-01-01", "mrr": 9_999.99},
    ]
    con, _ = run_engine(rows, date(2024, 3, 1), acv_enterprise_lower=120_000.0)
    bands = dict(
        con.execute(
            "select customer_id, any_value(acv_band) from customer_mrr_monthly group by 1"
        ).fetchall()
    )
    assert bands == {"on": "Enterprise", "below": "Mid-Market"}
    moved = dict(con.execute("select customer_id, acv_band from mrr_movements").fetchall())
    assert moved == bands
    enterprise = window_row(con, date(2024, 3, 1), 1, "acv_band", "Enterprise")
    assert (enterprise["cohort_customers"], enterprise["start_mrr"]) == (1, 10_000.0)
    opening = con.execute(
        """select segment, opening_mrr from mrr_bridge
           where month = '2024-03-01' and dimension = 'acv_band' order by segment"""
    ).fetchall()
    assert opening == [("Enterprise", 10_000.0), ("Mid-Market", 9_999.99)]


# ---------------------------------------------------------------------------------------
# churn kind: a customer whose last periods end together for different reasons


@pytest.mark.parametrize("order", list(itertools.permutations(range(3))))
def test_an_involuntary_ending_wins_a_tie_with_a_voluntary_one(order):
    rows = [
        {"customer_id": "t", "start_date": "2024-01-01", "end_date": "2024-04-01", "mrr": 70,
         "churn_kind": "voluntary"},
        {"customer_id": "t", "start_date": "2024-01-01", "end_date": "2024-04-01", "mrr": 30,
         "churn_kind": "involuntary"},
        # an earlier voluntary ending is a contraction: it has no say in the churn's kind
        {"customer_id": "t", "start_date": "2024-01-01", "end_date": "2024-02-01", "mrr": 5,
         "churn_kind": "voluntary"},
    ]  # fmt: skip
    con, _ = run_engine([rows[i] for i in order], date(2024, 6, 1))
    churns = con.execute(
        "select month, amount, churn_kind from mrr_movements where movement = 'churn'"
    ).fetchall()
    assert churns == [(date(2024, 4, 1), 100.0, "involuntary")]


def test_churn_kind_comes_only_from_the_periods_that_end_at_the_churn():
    rows = [
        # ended involuntarily in February, but the customer kept paying for another plan
        {"customer_id": "k", "start_date": "2024-01-01", "end_date": "2024-02-01", "mrr": 5,
         "churn_kind": "involuntary"},
        {"customer_id": "k", "start_date": "2024-01-01", "end_date": "2024-05-01", "mrr": 50,
         "churn_kind": "voluntary"},
        # no kind known: the churn has none
        {"customer_id": "u", "start_date": "2024-01-01", "end_date": "2024-05-01", "mrr": 50},
    ]  # fmt: skip
    con, _ = run_engine(rows, date(2024, 6, 1))
    kinds = con.execute(
        """select m.customer_id, m.churn_kind from mrr_movements m
           where movement = 'churn' order by all"""
    ).fetchall()
    assert kinds == [("k", "voluntary"), ("u", None)]


# ---------------------------------------------------------------------------------------
# the bridge check: to the cent, and its message the same whatever the row order


class _OffByEngine(Engine):
    """Every churn amount moved by `offset`: the bridge is off by exactly that much."""

    offset = "0.01"

    def render(self, layer, name, context):
        sql = super().render(layer, name, context)
        if name == "int_mrr_movements":
            assert "when 'churn' then previous_mrr" in sql
            sql = sql.replace(
                "when 'churn' then previous_mrr", f"when 'churn' then previous_mrr + {self.offset}"
            )
        return sql


class _OffByHalfACentLessEngine(_OffByEngine):
    offset = "0.004"


CHURN_LEDGER = [
    {"customer_id": "a", "start_date": "2024-01-01", "end_date": "2024-03-01", "mrr": 70},
    {"customer_id": "b", "start_date": "2024-01-01", "mrr": 30},
]


def test_a_bridge_off_by_one_cent_fails_naming_the_month_and_the_cent():
    with pytest.raises(BridgeError, match=r"for 2024-03: opening \+ movements .* by -0\.01$"):
        run_engine(CHURN_LEDGER, date(2024, 4, 1), engine_class=_OffByEngine)


def test_a_bridge_off_by_less_than_half_a_cent_reconciles():
    assert BRIDGE_TOLERANCE == 0.005
    con, _ = run_engine(CHURN_LEDGER, date(2024, 4, 1), engine_class=_OffByHalfACentLessEngine)
    worst = con.execute("select max(abs(difference)) from mrr_bridge").fetchone()[0]
    assert worst == pytest.approx(0.004)


BRIDGE_COLUMNS = "month date, dimension varchar, segment varchar, difference double"
BRIDGE_ROWS = [
    # equal worst differences in two months, for the company and for segments
    ("2024-03-01", "plan", "pro", 70.0),
    ("2024-03-01", "acv_band", "SMB", -70.0),
    ("2024-03-01", "all", "all", 70.0),
    ("2024-02-01", "plan", "basic", -70.0),
    ("2024-02-01", "acv_band", "SMB", 70.0),
    ("2024-04-01", "all", "all", 0.001),
]


@pytest.mark.parametrize("order", list(itertools.permutations(range(len(BRIDGE_ROWS))))[::37])
def test_the_bridge_error_names_the_same_row_whatever_the_row_order(order):
    con = duckdb.connect(":memory:")
    con.execute(f"create table mrr_bridge ({BRIDGE_COLUMNS})")
    con.executemany("insert into mrr_bridge values (?, ?, ?, ?)", [BRIDGE_ROWS[i] for i in order])
    engine = Engine(con, EngineParams(as_of=date(2024, 4, 1)))
    with pytest.raises(BridgeError) as raised:
        engine._check_bridge()
    # the worst difference, the earliest month, the company before its segments
    assert str(raised.value) == (
        "the MRR bridge does not reconcile for 2024-02 (segment acv_band=SMB): "
        "opening + movements differs from closing MRR by 70.00"
    )


def test_a_company_row_is_named_before_a_segment_row_of_the_same_month():
    con = duckdb.connect(":memory:")
    con.execute(f"create table mrr_bridge ({BRIDGE_COLUMNS})")
    con.executemany(
        "insert into mrr_bridge values (?, ?, ?, ?)",
        [("2024-03-01", "plan", "pro", 70.0), ("2024-03-01", "all", "all", 70.0)],
    )
    with pytest.raises(BridgeError, match=r"^the MRR bridge does not reconcile for 2024-03: "):
        Engine(con, EngineParams(as_of=date(2024, 4, 1)))._check_bridge()


# ---------------------------------------------------------------------------------------
# constant currency with moving rates: both ends of a window at the window start's rate

RATES = {  # EUR -> USD, a different rate every month
    "2023-12": 1.05, "2024-01": 1.10, "2024-02": 1.20, "2024-03": 1.00, "2024-04": 1.30,
    "2024-05": 0.90, "2024-06": 1.15, "2024-07": 1.25,
}  # fmt: skip
FX_ROWS = [
    {"currency": "eur", "rate": rate, "month": date.fromisoformat(f"{month}-01")}
    for month, rate in RATES.items()
]
FX_LEDGER = [
    # grows in euros in April (a new spell): the window crosses two spells
    {"customer_id": "grow", "start_date": "2024-01-01", "end_date": "2024-04-01", "mrr": 100,
     "currency": "eur"},
    {"customer_id": "grow", "start_date": "2024-04-01", "mrr": 150, "currency": "eur"},
    # pays in both currencies; its dollar line ends in May
    {"customer_id": "mixed", "start_date": "2024-01-01", "mrr": 200, "currency": "eur"},
    {"customer_id": "mixed", "start_date": "2024-01-01", "end_date": "2024-05-01", "mrr": 40},
    # leaves in March, back in June (in euros, for more)
    {"customer_id": "back", "start_date": "2024-01-01", "end_date": "2024-03-01", "mrr": 80,
     "currency": "eur"},
    {"customer_id": "back", "start_date": "2024-06-01", "mrr": 90, "currency": "eur"},
    # constant in dollars, as a control
    {"customer_id": "usd", "start_date": "2024-01-01", "mrr": 60},
]  # fmt: skip


def _native(rows) -> dict[tuple[str, int], dict[str, float]]:
    """Month-end native MRR per customer and currency, read literally from the rows."""
    from tests.metrics import reference

    result: dict[tuple[str, int], dict[str, float]] = {}
    for currency in {str(r.get("currency") or "usd") for r in rows}:
        of_currency = [r for r in rows if str(r.get("currency") or "usd") == currency]
        for (customer, idx), amount in reference.customer_month_mrr(
            of_currency, range(2024 * 12, 2024 * 12 + 7)
        ).items():
            result.setdefault((customer, idx), {})[currency] = float(amount)
    return result


def _rate(currency: str, idx: int) -> float:
    return 1.0 if currency == "usd" else RATES[f"{idx // 12}-{idx % 12 + 1:02d}"]


@pytest.mark.parametrize("policy", ["exclude", "include"])
def test_windows_value_both_ends_at_the_window_starts_rate(policy):
    from tests.metrics import reference

    con, _ = run_engine(FX_LEDGER, date(2024, 7, 1), fx_rows=FX_ROWS, policy=policy)
    native = _native(FX_LEDGER)
    for n in (1, 3):
        for m1 in range(2024 * 12 + n, 2024 * 12 + 7):  # windows starting from January
            m0 = m1 - n
            at_m0 = {
                (customer, idx): sum(v * _rate(cur, m0) for cur, v in amounts.items())
                for (customer, idx), amounts in native.items()
            }
            expected = reference.window(
                {k: reference.Decimal(str(round(v, 6))) for k, v in at_m0.items()}, m0, m1, policy
            )
            got = window_row(con, reference.first_day(m1), n)
            label = f"{n}-month window to {reference.first_day(m1):%Y-%m}"
            assert got["start_mrr"] == pytest.approx(float(expected.start)), label
            assert got["expansion"] == pytest.approx(float(expected.expansion)), label
            assert got["contraction"] == pytest.approx(float(expected.contraction)), label
            assert got["churn"] == pytest.approx(float(expected.churn)), label
            assert got["reactivated_mrr"] == pytest.approx(float(expected.reactivated)), label
            assert got["nrr"] == pytest.approx(expected.nrr), label


def test_a_window_across_a_native_increase_shows_only_the_increase():
    con, _ = run_engine(FX_LEDGER[:2], date(2024, 7, 1), fx_rows=FX_ROWS)
    # March -> April: 100 -> 150 euros, both at March's rate of 1.00
    row = window_row(con, date(2024, 4, 1), 1)
    assert (row["start_mrr"], row["expansion"], row["nrr"]) == pytest.approx((100.0, 50.0, 1.5))
    # January -> April: 110 -> 165 dollars at January's 1.10, whatever April's rate is
    row = window_row(con, date(2024, 4, 1), 3)
    assert (row["start_mrr"], row["expansion"], row["nrr"]) == pytest.approx((110.0, 55.0, 1.5))
    assert movements(con, "grow")[1] == ("2024-04", "grow", "expansion", pytest.approx(50.0))


# ---------------------------------------------------------------------------------------
# cohorts: every figure of every cell against the literal reading (tests/metrics/reference.py)

COHORT_LEDGER = [
    # the January cohort: one grows, one shrinks, one leaves, one leaves and comes back
    {"customer_id": "grow", "start_date": "2024-01-01", "end_date": "2024-03-01", "mrr": 100},
    {"customer_id": "grow", "start_date": "2024-03-01", "mrr": 180},
    {"customer_id": "shrink", "start_date": "2024-01-01", "end_date": "2024-02-01", "mrr": 200},
    {"customer_id": "shrink", "start_date": "2024-02-01", "mrr": 120},
    {"customer_id": "leave", "start_date": "2024-01-01", "end_date": "2024-04-01", "mrr": 50},
    {"customer_id": "back", "start_date": "2024-01-01", "end_date": "2024-02-01", "mrr": 40},
    {"customer_id": "back", "start_date": "2024-04-01", "mrr": 70},
    # a March cohort of one that only grows: its GRR stays 100%
    {"customer_id": "late", "start_date": "2024-03-01", "end_date": "2024-05-01", "mrr": 10},
    {"customer_id": "late", "start_date": "2024-05-01", "mrr": 30},
]


@pytest.mark.parametrize("policy", ["exclude", "include"])
def test_cohort_cells_match_the_literal_reading_figure_by_figure(policy):
    from tests.metrics import reference

    as_of = date(2024, 6, 1)
    con, _ = run_engine(COHORT_LEDGER, as_of, policy=policy)
    expected_mrr = reference.customer_month_mrr(
        COHORT_LEDGER, range(2024 * 12, reference.month_index(as_of) + 1)
    )
    expected = reference.cohort_windows(expected_mrr, reference.month_index(as_of), policy)
    cursor = con.execute(
        """select cohort_month, age_months, customers, retained_customers, start_mrr, mrr,
                  expansion, contraction, churn, reactivated_mrr, nrr, grr
           from cohort_retention order by all"""
    )
    cells = {(reference.month_index(row[0]), row[1]): row[2:] for row in cursor.fetchall()}
    assert cells.keys() == expected.keys()
    for key, w in expected.items():
        end = w.start + w.expansion - w.contraction - w.churn
        assert cells[key] == pytest.approx(
            (w.cohort, w.retained, float(w.start), float(end), float(w.expansion),
             float(w.contraction), float(w.churn), float(w.reactivated), w.nrr, w.grr)
        ), key  # fmt: skip
        assert cells[key][-1] <= 1.0, key  # GRR never above 100%


# ---------------------------------------------------------------------------------------
# bands of windows shorter than a year are read on their yearly pace


def test_short_windows_are_banded_on_their_yearly_pace():
    rows = [
        # +2% in one month: 126.8% a year (excellent), though 102% alone would be healthy
        {"customer_id": "up", "start_date": "2024-01-01", "end_date": "2024-06-01", "mrr": 100},
        {"customer_id": "up", "start_date": "2024-06-01", "mrr": 102},
    ]
    con, _ = run_engine(rows, date(2024, 6, 1))
    row = window_row(con, date(2024, 6, 1), 1)
    assert row["nrr"] == pytest.approx(1.02)
    assert (row["benchmark_band"], row["grr_band"]) == ("excellent", "excellent")

    rows = [
        # -3% over a quarter: GRR 97% is 88.5% a year (good), though 97% alone is excellent
        {"customer_id": "down", "start_date": "2024-01-01", "end_date": "2024-04-01", "mrr": 100},
        {"customer_id": "down", "start_date": "2024-04-01", "mrr": 97},
    ]
    con, _ = run_engine(rows, date(2024, 4, 1))
    row = window_row(con, date(2024, 4, 1), 3)
    assert row["grr"] == pytest.approx(0.97)
    assert (row["grr_band"], row["benchmark_band"]) == ("good", "problematic")


# ---------------------------------------------------------------------------------------
# segments: a customer paying on several lines is in the segment of its largest


@pytest.mark.parametrize(
    ("basic", "pro", "plan"),
    [(30, 70, "pro"), (70, 30, "basic"), (50, 50, "pro")],  # a tie: the later value, always
)
def test_a_customer_with_several_lines_is_in_the_segment_of_its_largest(basic, pro, plan):
    rows = [
        {"customer_id": "c", "start_date": "2024-01-01", "mrr": basic, "plan": "basic"},
        {"customer_id": "c", "start_date": "2024-01-01", "mrr": pro, "plan": "pro"},
    ]
    con, _ = run_engine(rows, date(2024, 3, 1), dimensions=("plan",))
    plans = con.execute("select distinct plan from customer_mrr_monthly").fetchall()
    assert plans == [(plan,)]
    row = window_row(con, date(2024, 3, 1), 1, "plan", plan)
    assert (row["cohort_customers"], row["start_mrr"]) == (1, 100.0)
    assert con.execute("select plan from mrr_movements").fetchall() == [(plan,)]


def test_a_month_specific_rate_wins_over_a_rate_without_a_month():
    rows = [{"customer_id": "eu", "start_date": "2024-01-01", "mrr": 100, "currency": "eur"}]
    fx = [
        {"currency": "eur", "rate": 2.0},  # a fallback for months without their own rate
        {"currency": "eur", "rate": 1.10, "month": date(2024, 2, 1)},
    ]
    con, _ = run_engine(rows, date(2024, 3, 1), fx_rows=fx)
    got = {k: round(v, 6) for k, v in mrr_by_month(con, "eu").items()}
    # January has no rate of its own: the fallback; February its own, March February's
    assert got == {"2024-01": 200.0, "2024-02": 110.0, "2024-03": 110.0}


@pytest.mark.parametrize("policy", ["exclude", "include"])
def test_cohorts_value_every_age_at_the_cohort_months_rate(policy):
    from tests.metrics import reference

    as_of = date(2024, 7, 1)
    con, _ = run_engine(FX_LEDGER, as_of, fx_rows=FX_ROWS, policy=policy)
    native = _native(FX_LEDGER)
    cursor = con.execute(
        "select cohort_month, age_months, start_mrr, mrr, expansion, contraction, churn "
        "from cohort_retention"
    )
    cells = {(reference.month_index(r[0]), r[1]): r[2:] for r in cursor.fetchall()}
    assert cells
    for (k, age), got in cells.items():
        at_k = {
            key: reference.Decimal(str(round(sum(v * _rate(c, k) for c, v in amounts.items()), 6)))
            for key, amounts in native.items()
        }
        w = reference.cohort_windows(at_k, reference.month_index(as_of), policy)[(k, age)]
        end = w.start + w.expansion - w.contraction - w.churn
        assert got == pytest.approx(
            [float(x) for x in (w.start, end, w.expansion, w.contraction, w.churn)]
        ), (k, age)

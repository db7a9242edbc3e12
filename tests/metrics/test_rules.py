"""Each rule of metrics.md sections 1-4, one small ledger at a time."""

from __future__ import annotations

from datetime import date

import pytest

from nrr.errors import BridgeError, FxRateError, NrrError
from nrr.metrics.engine import Engine
from tests.metrics.harness import movements, mrr_by_month, run_engine, window_row


def test_several_subscriptions_add_up():
    rows = [
        {"customer_id": "c", "start_date": "2024-01-01", "mrr": 100},  # base plan
        {"customer_id": "c", "start_date": "2024-01-01", "mrr": 30},  # add-on
        {"customer_id": "c", "start_date": "2024-03-01", "mrr": 20},  # extra seats
    ]
    con, _ = run_engine(rows, date(2024, 3, 1))
    assert mrr_by_month(con, "c") == {"2024-01": 130.0, "2024-02": 130.0, "2024-03": 150.0}


def test_month_end_instant_decides_mid_month_starts_and_ends():
    rows = [
        # starts on the last day of January: active at January's last instant
        {
            "customer_id": "late-start",
            "start_date": "2024-01-31",
            "end_date": "2024-03-15",
            "mrr": 10,
        },
        # starts and ends inside January: never active at a month end
        {"customer_id": "inside", "start_date": "2024-01-05", "end_date": "2024-01-20", "mrr": 10},
        # ends on the first of March (exclusive): February counts, March does not
        {
            "customer_id": "first-end",
            "start_date": "2024-02-01",
            "end_date": "2024-03-01",
            "mrr": 10,
        },
    ]
    con, _ = run_engine(rows, date(2024, 4, 1))
    assert mrr_by_month(con, "late-start") == {"2024-01": 10.0, "2024-02": 10.0}
    assert mrr_by_month(con, "inside") == {}
    assert mrr_by_month(con, "first-end") == {"2024-02": 10.0}


def test_a_monthly_plan_is_the_same_mrr_in_february_and_march():
    con, _ = run_engine(
        [{"customer_id": "c", "start_date": "2024-02-01", "mrr": 100}], date(2024, 3, 1)
    )
    assert mrr_by_month(con, "c") == {"2024-02": 100.0, "2024-03": 100.0}


def test_zero_amount_periods_carry_no_mrr():
    rows = [
        {"customer_id": "trial", "start_date": "2024-01-01", "end_date": "2024-02-01", "mrr": 0},
        {"customer_id": "trial", "start_date": "2024-02-01", "mrr": 50},
    ]
    con, _ = run_engine(rows, date(2024, 3, 1))
    assert mrr_by_month(con, "trial") == {"2024-02": 50.0, "2024-03": 50.0}
    assert movements(con, "trial")[0] == ("2024-02", "trial", "new", 50.0)


def test_gap_gives_churn_then_reactivation_with_churn_kind():
    rows = [
        {
            "customer_id": "g",
            "start_date": "2024-01-01",
            "end_date": "2024-03-01",
            "mrr": 80,
            "churn_kind": "involuntary",
        },
        {"customer_id": "g", "start_date": "2024-06-01", "mrr": 90},
    ]
    con, _ = run_engine(rows, date(2024, 7, 1))
    assert movements(con, "g") == [
        ("2024-01", "g", "new", 80.0),
        ("2024-03", "g", "churn", 80.0),
        ("2024-06", "g", "reactivation", 90.0),
    ]
    kind = con.execute("select churn_kind from mrr_movements where movement = 'churn'").fetchone()[
        0
    ]
    assert kind == "involuntary"


def test_no_movement_row_when_nothing_changes_and_no_churn_after_as_of():
    con, _ = run_engine(
        [{"customer_id": "s", "start_date": "2024-01-01", "end_date": "2024-06-01", "mrr": 5}],
        date(2024, 5, 1),
    )
    # ends after the as-of month: its churn (June) is not in this run
    assert movements(con, "s") == [("2024-01", "s", "new", 5.0)]


def test_reactivation_inside_window_under_both_policies_on_quarterly_window():
    rows = [
        {"customer_id": "r", "start_date": "2024-01-01", "end_date": "2024-02-01", "mrr": 100},
        {"customer_id": "r", "start_date": "2024-03-01", "mrr": 120},
    ]
    exclude, _ = run_engine(rows, date(2024, 4, 1), policy="exclude")
    include, _ = run_engine(rows, date(2024, 4, 1), policy="include")
    ex = window_row(exclude, date(2024, 4, 1), 3)
    inc = window_row(include, date(2024, 4, 1), 3)
    assert (ex["nrr"], ex["churn"], ex["reactivated_mrr"]) == (0.0, 100.0, 120.0)
    assert (inc["nrr"], inc["expansion"], inc["reactivated_mrr"]) == (1.2, 20.0, 120.0)


def test_new_customers_inside_the_window_are_excluded():
    rows = [
        {"customer_id": "old", "start_date": "2024-01-01", "mrr": 100},
        {"customer_id": "new", "start_date": "2024-06-01", "mrr": 1000},
    ]
    con, _ = run_engine(rows, date(2024, 12, 1))
    row = window_row(con, date(2024, 12, 1), 3)
    assert (row["cohort_customers"], row["start_mrr"], row["nrr"]) == (2, 1100.0, 1.0)
    row = window_row(con, date(2024, 7, 1), 3)
    assert (row["cohort_customers"], row["start_mrr"]) == (1, 100.0)


def test_empty_cohort_has_null_nrr_not_zero():
    con, _ = run_engine(
        [{"customer_id": "c", "start_date": "2024-03-01", "mrr": 10}], date(2024, 6, 1)
    )
    row = window_row(con, date(2024, 6, 1), 12)  # window starts before any revenue
    assert row["cohort_customers"] == 0
    assert row["nrr"] is None and row["grr"] is None and row["benchmark_band"] is None


def test_acv_band_is_taken_at_window_start():
    # 9,000 ACV (SMB) at m0, grows to 60,000 ACV (Mid-Market) inside the window
    rows = [
        {"customer_id": "grower", "start_date": "2024-01-01", "end_date": "2024-05-01", "mrr": 750},
        {"customer_id": "grower", "start_date": "2024-05-01", "mrr": 5000},
    ]
    con, _ = run_engine(rows, date(2025, 1, 1))
    smb = window_row(con, date(2025, 1, 1), 12, "acv_band", "SMB")
    assert smb["start_mrr"] == 750 and smb["nrr"] == pytest.approx(5000 / 750)
    segments = con.execute(
        """select segment from retention_windows where as_of = '2025-01-01'
           and window_months = 12 and dimension = 'acv_band'"""
    ).fetchall()
    assert segments == [("SMB",)]


def test_acv_band_bounds_are_configurable():
    rows = [{"customer_id": "c", "start_date": "2024-01-01", "mrr": 500}]  # ACV 6,000
    con, _ = run_engine(rows, date(2024, 2, 1), acv_smb_upper=5_000.0)
    assert window_row(con, date(2024, 2, 1), 1, "acv_band", "Mid-Market")["start_mrr"] == 500


def test_segments_use_the_attribute_at_window_start():
    rows = [
        {
            "customer_id": "c",
            "start_date": "2024-01-01",
            "end_date": "2024-03-01",
            "mrr": 10,
            "plan": "basic",
        },
        {"customer_id": "c", "start_date": "2024-03-01", "mrr": 30, "plan": "pro"},
    ]
    con, _ = run_engine(rows, date(2024, 4, 1), dimensions=("plan",))
    row = window_row(con, date(2024, 4, 1), 3, "plan", "basic")
    assert (row["start_mrr"], row["nrr"]) == (10.0, 3.0)
    assert (
        con.execute(
            "select count(*) from retention_windows where dimension = 'plan' and segment = 'pro'"
            " and as_of = '2024-04-01' and window_months = 3"
        ).fetchone()[0]
        == 0
    )


def test_unknown_segment_dimension_is_a_clear_error():
    with pytest.raises(NrrError, match="segment dimension 'region' is not a column"):
        run_engine(
            [{"customer_id": "c", "start_date": "2024-01-01", "mrr": 1, "plan": "x"}],
            date(2024, 2, 1),
            dimensions=("region",),
        )


def test_constant_currency_keeps_fx_moves_out_of_retention():
    rows = [{"customer_id": "eu", "start_date": "2024-01-01", "mrr": 100, "currency": "eur"}]
    fx = [
        {"currency": "eur", "rate": 1.10, "month": date(2024, 1, 1)},
        {"currency": "eur", "rate": 1.20, "month": date(2024, 2, 1)},
        {"currency": "eur", "rate": 1.00, "month": date(2024, 3, 1)},
    ]
    con, _ = run_engine(rows, date(2024, 3, 1), fx_rows=fx)
    assert mrr_by_month(con, "eu") == {
        "2024-01": pytest.approx(110.0),
        "2024-02": pytest.approx(120.0),
        "2024-03": pytest.approx(100.0),
    }
    assert window_row(con, date(2024, 3, 1), 1)["nrr"] == 1.0
    assert window_row(con, date(2024, 2, 1), 1)["start_mrr"] == pytest.approx(110.0)
    assert movements(con, "eu") == [("2024-01", "eu", "new", pytest.approx(110.0))]
    bridge = con.execute(
        """select month, opening_mrr, fx_adjustment, closing_mrr, difference from mrr_bridge
           where dimension = 'all' order by month"""
    ).fetchall()
    assert [
        (f"{m:%Y-%m}", round(o, 2), round(f, 2), round(c, 2), d) for m, o, f, c, d in bridge
    ] == [
        ("2024-01", 0.0, 0.0, 110.0, 0.0),
        ("2024-02", 110.0, 10.0, 120.0, 0.0),
        ("2024-03", 120.0, -20.0, 100.0, 0.0),
    ]


def test_rates_without_month_hold_for_every_month_and_missing_rate_is_an_error():
    rows = [{"customer_id": "uk", "start_date": "2024-01-01", "mrr": 100, "currency": "gbp"}]
    con, _ = run_engine(rows, date(2024, 2, 1), fx_rows=[{"currency": "gbp", "rate": 1.25}])
    assert mrr_by_month(con, "uk") == {"2024-01": 125.0, "2024-02": 125.0}
    with pytest.raises(FxRateError, match="no exchange rate to USD for GBP"):
        run_engine(rows, date(2024, 2, 1))


def test_monthly_nrr_is_annualised_as_power_12():
    rows = [
        {"customer_id": "c", "start_date": "2024-01-01", "end_date": "2024-02-01", "mrr": 100},
        {"customer_id": "c", "start_date": "2024-02-01", "mrr": 101},
    ]
    con, _ = run_engine(rows, date(2024, 2, 1))
    row = window_row(con, date(2024, 2, 1), 1)
    assert row["nrr_annualised"] == pytest.approx(1.01**12)
    # bands of short windows are read on the yearly pace: 1.01^12 = 112.7% -> healthy
    assert row["benchmark_band"] == "healthy"


@pytest.mark.parametrize(
    ("scope_mrr", "end_mrr", "band"),
    [
        (100.0, 120.0, "healthy"),  # exactly 120%: healthy (excellent is > 120%)
        (100.0, 120.01, "excellent"),
        (100.0, 100.0, "healthy"),
        (100.0, 99.99, "problematic"),
    ],
)
def test_company_band_boundaries(scope_mrr, end_mrr, band):
    rows = [
        {
            "customer_id": "c",
            "start_date": "2024-01-01",
            "end_date": "2024-06-01",
            "mrr": scope_mrr,
        },
        {"customer_id": "c", "start_date": "2024-06-01", "mrr": end_mrr},
    ]
    con, _ = run_engine(rows, date(2025, 1, 1))
    assert window_row(con, date(2025, 1, 1), 12)["benchmark_band"] == band


@pytest.mark.parametrize(
    ("acv_mrr", "nrr", "segment", "band"),
    [
        (200.0, 1.05, "SMB", "best-in-class"),
        (200.0, 0.95, "SMB", "good"),
        (200.0, 0.8499, "SMB", "concerning"),
        (2000.0, 1.15, "Mid-Market", "best-in-class"),
        (2000.0, 0.95, "Mid-Market", "acceptable"),
        (20000.0, 1.30, "Enterprise", "best-in-class"),
        (20000.0, 1.1499, "Enterprise", "acceptable"),
        (20000.0, 1.0499, "Enterprise", "concerning"),
    ],
)
def test_segment_band_boundaries(acv_mrr, nrr, segment, band):
    rows = [
        {"customer_id": "c", "start_date": "2024-01-01", "end_date": "2024-06-01", "mrr": acv_mrr},
        {"customer_id": "c", "start_date": "2024-06-01", "mrr": round(acv_mrr * nrr, 6)},
    ]
    con, _ = run_engine(rows, date(2025, 1, 1))
    assert window_row(con, date(2025, 1, 1), 12, "acv_band", segment)["benchmark_band"] == band


@pytest.mark.parametrize(
    ("grr_end", "band"),
    [(91.0, "excellent"), (90.0, "good"), (85.0, "good"), (84.99, "concerning"), (79.0, "serious")],
)
def test_grr_band_boundaries(grr_end, band):
    rows = [
        {"customer_id": "c", "start_date": "2024-01-01", "end_date": "2024-06-01", "mrr": 100},
        {"customer_id": "c", "start_date": "2024-06-01", "mrr": grr_end},
    ]
    con, _ = run_engine(rows, date(2025, 1, 1))
    assert window_row(con, date(2025, 1, 1), 12)["grr_band"] == band


def test_cohort_retention_matrix_has_every_age_and_zero_after_full_churn():
    rows = [
        {"customer_id": "a", "start_date": "2024-01-10", "end_date": "2024-03-05", "mrr": 40},
        {"customer_id": "b", "start_date": "2024-01-02", "mrr": 60},
        {"customer_id": "c", "start_date": "2024-02-02", "end_date": "2024-03-02", "mrr": 10},
    ]
    con, _ = run_engine(rows, date(2024, 5, 1))
    cells = con.execute(
        """select strftime(cohort_month, '%Y-%m'), age_months, customers, start_mrr, mrr,
                  nrr, grr from cohort_retention order by 1, 2"""
    ).fetchall()
    assert cells == [
        ("2024-01", 0, 2, 100.0, 100.0, 1.0, 1.0),
        ("2024-01", 1, 2, 100.0, 100.0, 1.0, 1.0),
        ("2024-01", 2, 2, 100.0, 60.0, 0.6, 0.6),
        ("2024-01", 3, 2, 100.0, 60.0, 0.6, 0.6),
        ("2024-01", 4, 2, 100.0, 60.0, 0.6, 0.6),
        ("2024-02", 0, 1, 10.0, 10.0, 1.0, 1.0),
        ("2024-02", 1, 1, 10.0, 0.0, 0.0, 0.0),
        ("2024-02", 2, 1, 10.0, 0.0, 0.0, 0.0),
        ("2024-02", 3, 1, 10.0, 0.0, 0.0, 0.0),
    ]


def test_cohort_reactivation_follows_the_policy():
    rows = [
        {"customer_id": "r", "start_date": "2024-01-01", "end_date": "2024-02-01", "mrr": 50},
        {"customer_id": "r", "start_date": "2024-03-01", "mrr": 50},
    ]
    ex, _ = run_engine(rows, date(2024, 3, 1), policy="exclude")
    inc, _ = run_engine(rows, date(2024, 3, 1), policy="include")
    query = "select nrr, reactivated_mrr from cohort_retention where age_months = 2"
    assert ex.execute(query).fetchone() == (0.0, 50.0)
    assert inc.execute(query).fetchone() == (1.0, 50.0)


class _ChurnDroppingEngine(Engine):
    """An engine with a broken movements model, to prove the bridge check catches it."""

    def render(self, layer, name, context):
        sql = super().render(layer, name, context)
        if name == "int_mrr_movements":
            sql = sql.replace("select * from churns", "select * from churns where false")
        return sql


def test_a_bridge_that_does_not_reconcile_fails_with_month_and_difference():
    rows = [
        {"customer_id": "a", "start_date": "2024-01-01", "end_date": "2024-03-01", "mrr": 70},
        {"customer_id": "b", "start_date": "2024-01-01", "mrr": 30},
    ]
    with pytest.raises(BridgeError, match=r"2024-03: opening \+ movements differs .* by 70\.00"):
        run_engine(rows, date(2024, 4, 1), engine_class=_ChurnDroppingEngine)


def test_failed_build_leaves_previous_tables_untouched(tmp_path):
    import duckdb

    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    rows = [{"customer_id": "a", "start_date": "2024-01-01", "mrr": 70}]
    run_engine(rows, date(2024, 2, 1), con=con)
    before = con.execute("select * from customer_mrr_monthly order by all").fetchall()
    con.execute("drop table raw_ledger")
    con.execute("drop table raw_fx_rates")
    with pytest.raises(BridgeError):
        run_engine(
            [
                *rows,
                {
                    "customer_id": "b",
                    "start_date": "2024-01-01",
                    "end_date": "2024-02-01",
                    "mrr": 5,
                },
            ],
            date(2024, 3, 1),
            con=con,
            engine_class=_ChurnDroppingEngine,
        )
    assert con.execute("select * from customer_mrr_monthly order by all").fetchall() == before

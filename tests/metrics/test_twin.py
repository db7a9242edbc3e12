"""The plain SQL twin (metrics/models/twin) and the fast engine agree to the cent on every
window and cohort cell of random ledgers (several currencies with moving rates, every
dimension, both reactivation policies); a difference planted in the staged marts the close
validates, in an engine figure or in one member's value, blocks the close on its audit."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nrr.compute import compute_close_staged, discard_staged_marts, staged_marts
from nrr.expectations.catalog import render_audit
from nrr.expectations.gates import validate_outputs
from nrr.metrics.engine import EngineParams
from nrr.metrics.twin import create_twin
from nrr.settings import Settings
from tests.metrics.harness import run_engine

AS_OF = date(2024, 12, 1)
FIRST = date(2023, 1, 1)
WINDOWS = (1, 2, 3, 12)
TWIN_AUDITS = {
    "retention_windows__matches_twin": "retention_windows",
    "retention_window_members__match_twin": "retention_window_members",
    "cohort_retention__matches_twin": "cohort_retention",
    "cohort_retention_members__match_twin": "cohort_retention_members",
}
CURRENCIES = ("usd", "eur", "gbp")

amounts = st.decimals(min_value=0, max_value=2000, places=2, allow_nan=False)


@st.composite
def ledgers(draw) -> list[dict[str, object]]:
    """Revenue periods of a few customers, in several currencies, plans and countries."""
    rows = []
    for _ in range(draw(st.integers(1, 14))):
        start = FIRST + timedelta(days=draw(st.integers(0, 700)))
        length = draw(st.one_of(st.none(), st.integers(0, 500)))
        rows.append(
            {
                "customer_id": draw(st.sampled_from("abcdefg")),
                "start_date": start.isoformat(),
                "end_date": None
                if length is None
                else (start + timedelta(days=length)).isoformat(),
                "mrr": str(draw(amounts)),
                "currency": draw(st.sampled_from(CURRENCIES)),
                "plan": draw(st.sampled_from(["basic", "pro", None])),
                "country": draw(st.sampled_from(["US", "FR"])),
            }
        )
    # (an exact repeat of a row is refused by the ledger loader)
    return list({tuple(row.items()): row for row in rows}.values())


@st.composite
def moving_rates(draw) -> list[dict[str, object]]:
    """Month-specific rates for every foreign currency, a few of them constant too."""
    fx = []
    for currency in CURRENCIES[1:]:
        if draw(st.booleans()):
            fx.append({"currency": currency, "rate": draw(st.sampled_from([0.9, 1.1, 1.3]))})
        for month in draw(st.sets(st.integers(0, 23), min_size=1, max_size=8)):
            rate = draw(st.decimals(min_value="0.5", max_value="2", places=4))
            first = date(FIRST.year + month // 12, month % 12 + 1, 1)
            fx.append({"currency": currency, "rate": float(rate), "month": first.isoformat()})
    return fx


def audit_rows(con: duckdb.DuckDBPyConnection, audit: str) -> list[tuple]:
    return con.sql(render_audit(audit, {})).fetchall()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rows=ledgers(),
    fx=moving_rates(),
    policy=st.sampled_from(["exclude", "include"]),
    dimensions=st.sampled_from([None, ("plan", "country", "currency")]),
)
def test_twin_and_engine_agree_to_the_cent_on_every_cell(rows, fx, policy, dimensions):
    con, _ = run_engine(
        rows, AS_OF, policy=policy, fx_rows=fx, dimensions=dimensions, windows=WINDOWS
    )
    params = EngineParams(
        as_of=AS_OF, reactivation_policy=policy, segment_dimensions=dimensions, windows=WINDOWS
    )
    create_twin(con, params)
    for audit in TWIN_AUDITS:
        assert audit_rows(con, audit) == [], audit
    # not vacuous: the twin has every cell of the engine, company and segments
    # (the windows the close publishes: those ending at the closed month)
    closed = f"as_of = date '{AS_OF}'"
    for engine, twin, where in (
        ("retention_windows", "twin_retention_windows", closed),
        ("cohort_retention", "twin_cohort_retention", "true"),
    ):
        counted = "select count(*), coalesce(sum(start_mrr), 0) from {} where start_mrr > 0 and {}"
        [(twin_cells, twin_start)] = con.sql(counted.format(twin, where)).fetchall()
        [(engine_cells, engine_start)] = con.sql(counted.format(engine, where)).fetchall()
        assert (twin_cells, twin_start) == (engine_cells, pytest.approx(engine_start))
    dims = con.sql("select distinct dimension from twin_retention_windows").fetchall()
    expected = {"all", "acv_band", *(dimensions or ("plan", "country"))}
    assert {d for (d,) in dims} <= expected


def test_twin_reads_the_worked_example_of_the_contract():
    """Contract example 5 read by the twin: A 100 -> 150, B 100 -> 0 in month 5 and back to
    100 in month 9; 12-month window: exclude -> NRR 75%, reactivated 100; include -> 125%."""
    rows = [
        {"customer_id": "A", "start_date": "2023-01-01", "end_date": "2023-06-01", "mrr": "100"},
        {"customer_id": "A", "start_date": "2023-06-01", "end_date": None, "mrr": "150"},
        {"customer_id": "B", "start_date": "2023-01-01", "end_date": "2023-05-01", "mrr": "100"},
        {"customer_id": "B", "start_date": "2023-09-01", "end_date": None, "mrr": "100"},
    ]
    for policy, nrr, reactivated in (("exclude", 0.75, 100.0), ("include", 1.25, 100.0)):
        con, _ = run_engine(rows, date(2024, 1, 1), policy=policy)
        create_twin(con, EngineParams(as_of=date(2024, 1, 1), reactivation_policy=policy))
        got = con.sql(
            """select start_mrr, nrr, reactivated_mrr from twin_retention_windows
               where as_of = date '2024-01-01' and window_months = 12 and dimension = 'all'"""
        ).fetchall()
        assert got == [(200.0, pytest.approx(nrr), reactivated)]


# --- a planted difference blocks the close --------------------------------------------------
LEDGER_ROWS = [
    "customer_id,start_date,end_date,mrr,currency,plan",
    "a,2023-01-10,2023-07-01,100,eur,pro",
    "a,2023-09-01,,150,usd,basic",
    "b,2023-02-01,,80,gbp,pro",
    "c,2023-02-01,2024-03-10,50,usd,basic",
    "c,2023-05-01,,20,eur,pro",
    "d,2023-03-01,2023-11-01,300,usd,pro",
    "e,2023-06-01,,45.5,eur,basic",
]
RATES = ["currency,rate,month", "eur,1.1,2023-01", "eur,1.2,2023-07", "eur,1.05,2024-02",
         "gbp,1.3,2023-01", "gbp,1.25,2023-09"]  # fmt: skip
# a member fact covers a run of window ends: plant in one the close publishes
COVERS_CLOSED = f" and date '{AS_OF}' between first_as_of and last_as_of"
PLANTS = {
    "an engine window figure": (
        "retention_windows",
        "expansion + 0.02 where window_months = 3 and dimension = 'all' and start_mrr > 0"
        f" and as_of = date '{AS_OF}'",
        "expansion",
        "retention_windows__matches_twin",
    ),
    "an engine cohort figure": (
        "cohort_retention",
        "mrr + 0.02 where age_months = 2",
        "mrr",
        "cohort_retention__matches_twin",
    ),
    "one window member's value": (
        "retention_window_member_facts",
        "end_mrr + 1 where customer_key = 1 and window_months = 12" + COVERS_CLOSED,
        "end_mrr",
        "retention_window_members__match_twin",
    ),
    "one window member's constant-currency end": (
        "retention_window_member_facts",
        "paid_end_mrr * 1.01 where paid_end_mrr > 0 and window_months = 1" + COVERS_CLOSED,
        "paid_end_mrr",
        "retention_window_members__match_twin",
    ),
    "one cohort member's value": (
        "cohort_retention_member_facts",
        "start_mrr + 1 where customer_key = 2",
        "start_mrr",
        "cohort_retention_members__match_twin",
    ),
}


def _settings(data_dir: Path, rates: Path) -> Settings:
    return Settings(data_dir=data_dir, fx_rates_path=rates, reactivation_policy="exclude")


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> tuple[Settings, Path]:
    """The close's ledger and rates."""
    root = tmp_path_factory.mktemp("twin-close")
    ledger = root / "ledger.csv"
    ledger.write_text("\n".join(LEDGER_ROWS) + "\n")
    rates = root / "rates.csv"
    rates.write_text("\n".join(RATES) + "\n")
    return _settings(root / "data", rates), ledger


def _validate(settings: Settings, ledger: Path, run_dir: Path, plant: str = ""):
    """The close's compute, its marts in memory (what validate-outputs reads), the
    statement `plant` run on them first."""
    compute_close_staged(settings, AS_OF, ledger, run_dir)
    try:
        con = staged_marts(run_dir)
        if plant:
            con.execute(plant)
        return validate_outputs(con, settings, as_of=AS_OF, previous=None)
    finally:
        discard_staged_marts(run_dir)


def test_clean_close_passes_every_twin_audit(inputs, tmp_path):
    report = _validate(*inputs, tmp_path / "run")
    ran = {o.audit: o.success for o in report.results if o.audit in TWIN_AUDITS}
    assert ran == dict.fromkeys(TWIN_AUDITS, True)
    assert report.passed


@pytest.mark.parametrize("plant", list(PLANTS))
def test_a_planted_difference_blocks_the_close_on_its_audit(inputs, tmp_path, plant):
    settings, ledger = inputs
    table, change, column, audit = PLANTS[plant]
    value, condition = change.split(" where ")
    run_dir = tmp_path / "run"
    compute_close_staged(settings, AS_OF, ledger, run_dir)
    try:
        changed = (
            staged_marts(run_dir)
            .execute(f"select count(*) from {table} where {condition}")
            .fetchall()[0][0]
        )
    finally:
        discard_staged_marts(run_dir)
    assert changed >= 1, "the plant must change a row"
    report = _validate(settings, ledger, run_dir,
                       f"update {table} set {column} = {value} where {condition}")  # fmt: skip
    blocking = {o.audit for o in report.blocking}
    assert audit in blocking
    assert not report.passed
    [failure] = [o for o in report.blocking if o.audit == audit]
    assert failure.examples, "the failure names the offending rows"

"""The output gate on the warehouse: planted defects in the derived tables fail the right
expectations with the right severity; the clean warehouse passes every check."""

from __future__ import annotations

import duckdb
import pytest

from nrr.errors import NrrError
from nrr.expectations.gates import validate_outputs
from nrr.expectations.report import CloseStats, Severity, ValidationReport
from nrr.warehouse import read_warehouse
from tests.expectations.conftest import AS_OF, copy_warehouse


def run(settings, previous=None) -> ValidationReport:
    con = read_warehouse(settings)
    try:
        return validate_outputs(con, settings, as_of=AS_OF, previous=previous)
    finally:
        con.close()


def failed(report) -> dict[str, Severity]:
    return {f"{o.dataset}: {o.description}": o.severity for o in report.results if not o.success}


def closing_mrr(settings) -> float:
    con = read_warehouse(settings)
    try:
        return con.execute(
            "select sum(mrr) from customer_mrr_monthly where month = ?", [AS_OF]
        ).fetchall()[0][0]
    finally:
        con.close()


@pytest.fixture(scope="module")
def clean(tmp_path_factory, clean_warehouse):
    settings = copy_warehouse(clean_warehouse, tmp_path_factory.mktemp("clean") / "data")
    before = settings.warehouse_path.read_bytes()
    report = run(settings, previous=CloseStats(AS_OF, {}, closing_mrr(settings)))
    return settings, report, before


def test_clean_warehouse_passes_every_check(clean):
    settings, report, _ = clean
    assert failed(report) == {}
    assert report.passed and report.notes == []  # the closing-MRR volume checks ran too
    assert report.total_mrr == pytest.approx(closing_mrr(settings)) and report.total_mrr > 0
    assert report.row_counts["customer_mrr_monthly"] > 1000
    assert report.data_docs_path.is_file()


def test_validation_leaves_the_warehouse_untouched(clean):
    settings, _, before = clean
    assert settings.warehouse_path.read_bytes() == before
    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    try:
        tables = {r[0] for r in con.execute("select table_name from duckdb_tables()").fetchall()}
    finally:
        con.close()
    assert not any(name.startswith("validation") for name in tables)


BRIDGE = "mrr_bridge: the bridge reconciles to the cent (opening + movements = closing)"
CLOSING_MATCHES = "mrr_bridge: company closing MRR equals the sum of customer MRR each month"
# The plain SQL twin recomputes windows and cohorts from customer_mrr_monthly: a defect in a
# figure or in the customer-months it is built from shows as a difference with the twin.
WINDOWS_TWIN = (
    "retention_windows: every window figure equals the plain SQL twin's "
    "(the contract read literally) to the cent"
)
WINDOW_MEMBERS_TWIN = (
    "retention_windows: every window member's start, end and reactivated MRR equal the twin's"
)
COHORTS_TWIN = (
    "cohort_retention: every cohort cell equals the plain SQL twin's "
    "(the contract read literally) to the cent"
)
COHORT_MEMBERS_TWIN = (
    "cohort_retention: every cohort member's start, paid, end and reactivated MRR equal the twin's"
)
# Defects in different tables, planted together: each must fail its own expectations only.
DEFECTS = {
    "bridge does not reconcile": (
        """update mrr_bridge set expansion = expansion + 12.5, difference = difference + 12.5
           where month = date '2023-06-01' and dimension = 'all'""",
        {BRIDGE: Severity.CRITICAL},
    ),
    "GRR above 100%": (
        "update retention_windows set grr = 1.04 where dimension = 'all' and window_months = 3",
        {
            "retention_windows: GRR is between 0 and 100% (never above 1)": Severity.CRITICAL,
            "retention_windows: NRR is never below GRR": Severity.CRITICAL,
            "retention_windows: NRR and GRR equal their formulas on start, expansion, "
            "contraction and churn": Severity.CRITICAL,
            WINDOWS_TWIN: Severity.CRITICAL,
        },
    ),
    "movement amount that is not the change": (
        "update mrr_movement_facts set amount = amount + 1 where movement = 'churn'",
        {
            "mrr_movements: each amount is the change its movement says "
            "(e.g. churn = previous MRR)": Severity.CRITICAL,
        },
    ),
    "month after the close": (
        """insert into cohort_retention select * replace (date '2024-02-01' as cohort_month)
           from cohort_retention limit 1""",
        {
            "cohort_retention: no cohort after the closed month": Severity.CRITICAL,
            COHORTS_TWIN: Severity.CRITICAL,
        },
    ),
    "duplicate customer-month": (
        # (customer_mrr_monthly is a view: the rows live in customer_mrr_facts)
        """insert into customer_mrr_facts
           select * from customer_mrr_facts where month = date '2023-06-01' limit 1""",
        {
            "customer_mrr_monthly: one row per customer and month": Severity.CRITICAL,
            CLOSING_MATCHES: Severity.CRITICAL,
            WINDOW_MEMBERS_TWIN: Severity.CRITICAL,
            COHORT_MEMBERS_TWIN: Severity.CRITICAL,
        },
    ),
    "negative MRR": (
        """update customer_mrr_facts set mrr = -mrr
           where customer_key = (select min(customer_key) from customer_mrr_facts
                                 where month = date '2023-03-01')
             and month = date '2023-03-01'""",
        {
            "customer_mrr_monthly: MRR is never negative": Severity.CRITICAL,
            CLOSING_MATCHES: Severity.CRITICAL,
        },
    ),
    "customer missing from customer_cohorts": (
        # (a customer whose rows no other defect touches: none in 2023-03 or 2023-06)
        """delete from customer_cohorts where customer_key = (
               select max(customer_key) from customer_mrr_facts
               where month = date '2023-09-01' and customer_key not in (
                   select customer_key from customer_mrr_facts
                   where month in (date '2023-03-01', date '2023-06-01')))""",
        {
            "customer_cohorts: every customer-month's customer is in customer_cohorts "
            "(else customer_mrr_monthly drops it)": Severity.CRITICAL,
            "customer_cohorts: every movement's customer is in customer_cohorts "
            "(else mrr_movements drops it)": Severity.CRITICAL,
            CLOSING_MATCHES: Severity.CRITICAL,
        },
    ),
}


@pytest.fixture(scope="module")
def defect_report(tmp_path_factory, clean_warehouse) -> ValidationReport:
    statements = [sql for sql, _ in DEFECTS.values()]
    settings = copy_warehouse(clean_warehouse, tmp_path_factory.mktemp("bad") / "data", *statements)
    return run(settings)


@pytest.mark.parametrize("name", list(DEFECTS))
def test_planted_defect_fails_its_expectations(defect_report, name):
    _, expected = DEFECTS[name]
    found = {k: v for k, v in failed(defect_report).items() if k in expected}
    assert found == expected
    for outcome in defect_report.failures:
        if f"{outcome.dataset}: {outcome.description}" in expected:
            assert outcome.examples, "a failure names offending rows"


def test_nothing_else_fails(defect_report):
    expected = {}
    for _, checks in DEFECTS.values():
        expected.update(checks)
    assert failed(defect_report) == expected
    assert not defect_report.passed


def test_bridge_failure_names_the_month(defect_report):
    [bridge] = [o for o in defect_report.blocking if o.audit == "mrr_bridge__reconciles"]
    assert bridge.unexpected_count == 1
    assert bridge.examples[0]["month"] == "2023-06-01"
    assert bridge.examples[0]["difference"] == pytest.approx(12.5)


def test_closing_mrr_drop_beyond_tolerance_is_critical(clean):
    settings, _, _ = clean
    total = closing_mrr(settings)
    report = run(settings, previous=CloseStats(AS_OF, {}, total_mrr=total / 0.4))
    assert failed(report) == {
        "closing_mrr: closing MRR has not dropped beyond the tolerance since the previous "
        "close": Severity.CRITICAL
    }
    [drop] = report.blocking
    assert drop.observed_value == pytest.approx(total)


def test_missing_table_is_a_clear_error(warehouse_copy):
    settings = warehouse_copy("drop table mrr_bridge")
    with pytest.raises(NrrError, match="lacks mrr_bridge"):
        run(settings)


def test_marts_computed_in_memory_are_validated_there_then_loaded_once(tmp_path, clean_ledger):
    """The close validates its marts in the compute's in-memory DuckDB: nothing reaches the
    warehouse before the gate, a load copies them in, a discarded run leaves it as it was."""
    from nrr.compute import (
        compute_close_staged,
        discard_staged_marts,
        load_staged_marts,
        staged_marts,
    )
    from tests.expectations.conftest import make_settings

    settings = make_settings(tmp_path / "data")
    compute_close_staged(settings, AS_OF, clean_ledger, tmp_path / "run1")
    assert not settings.warehouse_path.exists()
    report = validate_outputs(staged_marts(tmp_path / "run1"), settings, as_of=AS_OF,
                              previous=None)  # fmt: skip
    assert failed(report) == {} and report.total_mrr > 0
    loaded = load_staged_marts(settings, tmp_path / "run1")
    assert {"customer_mrr_monthly", "customer_mrr_facts", "mrr_bridge"} <= set(loaded)
    with pytest.raises(NrrError, match="no computed marts"):
        staged_marts(tmp_path / "run1")
    assert closing_mrr(settings) == pytest.approx(report.total_mrr)
    con = read_warehouse(settings)
    try:
        rows = con.execute("select count(*) from customer_mrr_monthly").fetchone()[0]
    finally:
        con.close()
    assert rows == report.row_counts["customer_mrr_monthly"]

    before = settings.warehouse_path.read_bytes()
    compute_close_staged(settings, AS_OF, clean_ledger, tmp_path / "run2")
    discard_staged_marts(tmp_path / "run2")  # e.g. the output gate blocked the close
    assert settings.warehouse_path.read_bytes() == before

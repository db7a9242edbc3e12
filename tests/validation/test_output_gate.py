"""The output gate on the warehouse: planted defects in the derived tables fail the right
expectations with the right severity; the clean warehouse passes every check."""

from __future__ import annotations

import duckdb
import pytest

from expectations.gates import validate_outputs
from expectations.report import CloseStats, Severity
from nrr.errors import NrrError
from nrr.warehouse import read_warehouse
from tests.validation.conftest import AS_OF


def run(settings, previous=None):
    con = read_warehouse(settings)
    try:
        return validate_outputs(con, settings, as_of=AS_OF, previous=previous)
    finally:
        con.close()


def failed(report) -> dict[str, Severity]:
    return {f"{o.dataset}: {o.description}": o.severity for o in report.results if not o.success}


def test_clean_warehouse_passes_every_check(warehouse_copy):
    settings = warehouse_copy()
    first = run(settings)
    previous = first.stats()
    report = run(settings, previous=CloseStats(AS_OF, {}, previous.total_mrr))
    assert failed(report) == {}
    assert report.passed and report.notes == []
    assert report.total_mrr == pytest.approx(previous.total_mrr) and report.total_mrr > 0
    assert report.row_counts["customer_mrr_monthly"] > 1000
    assert report.data_docs_path.is_file()


BRIDGE = "mrr_bridge: the bridge reconciles to the cent (opening + movements = closing)"
CLOSING_MATCHES = "mrr_bridge: company closing MRR equals the sum of customer MRR each month"
DEFECTS = {
    "bridge does not reconcile": (
        [
            """update mrr_bridge set expansion = expansion + 12.5,
                      difference = difference + 12.5
               where month = date '2023-06-01' and dimension = 'all'"""
        ],
        {BRIDGE: Severity.CRITICAL},
    ),
    "duplicate customer-month": (
        [
            """insert into customer_mrr_monthly
               select * from customer_mrr_monthly where month = date '2023-06-01' limit 1"""
        ],
        {
            "customer_mrr_monthly: one row per customer and month": Severity.CRITICAL,
            CLOSING_MATCHES: Severity.CRITICAL,
        },
    ),
    "negative MRR": (
        [
            """update customer_mrr_monthly set mrr = -mrr
               where customer_id = (select min(customer_id) from customer_mrr_monthly
                                    where month = date '2023-03-01')
                 and month = date '2023-03-01'"""
        ],
        {
            "customer_mrr_monthly: MRR is never negative": Severity.CRITICAL,
            CLOSING_MATCHES: Severity.CRITICAL,
        },
    ),
    "GRR above 100%": (
        ["update retention_windows set grr = 1.04 where dimension = 'all' and window_months = 3"],
        {
            "retention_windows: GRR is between 0 and 100% (never above 1)": Severity.CRITICAL,
            "retention_windows: NRR is never below GRR": Severity.CRITICAL,
            "retention_windows: NRR and GRR equal their formulas on start, expansion, "
            "contraction and churn": Severity.CRITICAL,
        },
    ),
    "movement amount that is not the change": (
        ["update mrr_movements set amount = amount + 1 where movement = 'churn'"],
        {
            "mrr_movements: each amount is the change its movement says "
            "(e.g. churn = previous MRR)": Severity.CRITICAL,
        },
    ),
    "month after the close": (
        [
            """insert into cohort_retention select * replace (date '2024-02-01' as cohort_month)
               from cohort_retention limit 1"""
        ],
        {"cohort_retention: no cohort after the closed month": Severity.CRITICAL},
    ),
}


@pytest.mark.parametrize("name", list(DEFECTS))
def test_planted_defect_fails_the_right_expectations(warehouse_copy, name):
    statements, expected = DEFECTS[name]
    report = run(warehouse_copy(*statements))
    assert failed(report) == expected
    assert not report.passed
    first = next(o for o in report.failures if f"{o.dataset}: {o.description}" in expected)
    assert first.examples, "a failure names offending rows"


def test_bridge_failure_names_the_month(warehouse_copy):
    report = run(warehouse_copy(*DEFECTS["bridge does not reconcile"][0]))
    [bridge] = [o for o in report.blocking if o.audit == "mrr_bridge__reconciles"]
    assert bridge.unexpected_count == 1
    assert bridge.examples[0]["month"] == "2023-06-01"
    assert bridge.examples[0]["difference"] == pytest.approx(12.5)


def test_closing_mrr_drop_beyond_tolerance_is_critical(warehouse_copy):
    settings = warehouse_copy()
    total = run(settings).total_mrr
    report = run(settings, previous=CloseStats(AS_OF, {}, total_mrr=total / 0.4))
    assert failed(report) == {
        "closing_mrr: closing MRR has not dropped beyond the tolerance since the previous "
        "close": Severity.CRITICAL
    }
    report = run(settings, previous=CloseStats(AS_OF, {}, total_mrr=total / 10))
    assert [o.severity for o in report.failures] == [Severity.WARNING] and report.passed


def test_missing_table_is_a_clear_error(warehouse_copy):
    settings = warehouse_copy("drop table mrr_bridge")
    with pytest.raises(NrrError, match="lacks mrr_bridge"):
        run(settings)


def test_validation_leaves_the_warehouse_untouched(warehouse_copy):
    settings = warehouse_copy()
    before = settings.warehouse_path.read_bytes()
    run(settings)
    assert settings.warehouse_path.read_bytes() == before
    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    try:
        tables = {r[0] for r in con.execute("select table_name from duckdb_tables()").fetchall()}
    finally:
        con.close()
    assert not any(name.startswith("validation") for name in tables)

"""The input gate on a revenue ledger: each planted defect fails the right expectation with
the right severity; a clean ledger passes every check."""

from __future__ import annotations

import json
import os
from datetime import datetime

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from nrr.errors import LedgerError, NrrError
from nrr.expectations.gates import validate_inputs
from nrr.expectations.report import CloseStats, Severity, ValidationReport
from tests.expectations.conftest import AS_OF, clean_rows, make_settings, write_csv

# (description of the expectation that must fail, severity, the planted row)
DEFECTS = [
    (
        "mrr is not negative",
        Severity.CRITICAL,
        {"customer_id": "cus_neg", "start_date": "2023-03-01", "mrr": "-10"},
    ),
    (
        "currency is an ISO 4217 code",
        Severity.CRITICAL,
        {"customer_id": "cus_eru", "start_date": "2023-03-01", "mrr": "10", "currency": "eru"},
    ),
    (
        "every currency has an exchange rate",
        Severity.CRITICAL,
        {"customer_id": "cus_gbp", "start_date": "2023-03-01", "mrr": "10", "currency": "gbp"},
    ),
    (
        "no period starts after the closed month (future rows are not counted)",
        Severity.WARNING,
        {"customer_id": "cus_future", "start_date": "2031-01-01", "mrr": "10"},
    ),
    (
        "end_date is not before start_date",
        Severity.CRITICAL,
        {
            "customer_id": "cus_back",
            "start_date": "2023-05-01",
            "end_date": "2023-04-01",
            "mrr": "10",
        },
    ),
    (
        "start_date is a date",
        Severity.CRITICAL,
        {"customer_id": "cus_baddate", "start_date": "2023-13-45", "mrr": "10"},
    ),
    (
        "every row has a customer_id",
        Severity.CRITICAL,
        {"customer_id": "", "start_date": "2023-03-01", "mrr": "10"},
    ),
    (
        "churn_kind is voluntary or involuntary",
        Severity.CRITICAL,
        {
            "customer_id": "cus_kind",
            "start_date": "2023-03-01",
            "end_date": "2023-06-01",
            "mrr": "10",
            "churn_kind": "fraud",
        },
    ),
    (
        "no row is repeated exactly (double export?)",
        Severity.WARNING,
        {"customer_id": "cus_dup", "start_date": "2023-03-01", "mrr": "10"},
    ),
]


@pytest.fixture(scope="module")
def clean_report(tmp_path_factory, clean_ledger) -> ValidationReport:
    settings = make_settings(tmp_path_factory.mktemp("clean"))
    rows = sum(1 for _ in clean_ledger.open()) - 1
    previous = CloseStats(period=AS_OF, row_counts={"ledger": rows}, total_mrr=None)
    return validate_inputs(settings, as_of=AS_OF, ledger_path=clean_ledger, previous=previous)


@pytest.fixture(scope="module")
def defects(tmp_path_factory):
    """One ledger holding every defect, each in its own row; returns (rows, base size)."""
    rows = clean_rows()
    base = len(rows)
    template = dict.fromkeys(rows[0], "")
    planted = [{**template, **row} for _, _, row in DEFECTS]
    planted.append(dict(planted[-1]))  # the duplicate
    path = write_csv(rows + planted, tmp_path_factory.mktemp("defects") / "ledger.csv")
    return path, base


@pytest.fixture(scope="module")
def defect_report(tmp_path_factory, defects) -> ValidationReport:
    path, _ = defects
    settings = make_settings(tmp_path_factory.mktemp("defect-run"))
    return validate_inputs(settings, as_of=AS_OF, ledger_path=path, previous=None)


def outcome(report: ValidationReport, description: str):
    matches = [o for o in report.results if o.description == description]
    assert len(matches) == 1, f"no single check named {description!r}"
    return matches[0]


def test_clean_ledger_passes_every_check(clean_report):
    failed = [o.headline() for o in clean_report.results if not o.success]
    assert failed == []
    assert clean_report.passed and clean_report.highest_failed_severity is None
    assert clean_report.notes == []  # volume checks ran: a previous close was given
    assert len(clean_report.results) == 19


@pytest.mark.parametrize(("description", "severity", "row"), DEFECTS, ids=[d[0] for d in DEFECTS])
def test_planted_defect_fails_its_expectation(defect_report, defects, description, severity, row):
    _, base = defects
    found = outcome(defect_report, description)
    assert not found.success
    assert found.severity is severity
    assert found.unexpected_count == 1
    example = found.examples[0]
    if "_row" in example:  # column checks name the file row (header is line 1, data row 1)
        assert example["_row"] == base + 1 + DEFECTS.index((description, severity, row))
    else:  # audits show their offending row
        assert any(
            str(v) in {row.get("currency"), row.get("customer_id")} for v in example.values()
        )


def test_only_planted_defects_fail(defect_report):
    failed = {o.description for o in defect_report.results if not o.success}
    assert failed == {d[0] for d in DEFECTS}
    assert not defect_report.passed
    assert defect_report.highest_failed_severity is Severity.CRITICAL
    assert {o.description for o in defect_report.warnings} == {
        d[0] for d in DEFECTS if d[1] is Severity.WARNING
    }


def test_duckdb_figures_give_the_verdicts_of_gx_pandas_engine(defects, defect_report):
    """The gate computes each check's figures in one DuckDB pass; GX's own pandas engine,
    validating the same staged rows, must reach the same verdicts and counts."""
    import duckdb
    import great_expectations as gx

    from nrr.expectations.catalog import load_suite
    from nrr.expectations.gates import CloseWindow, _parameters
    from nrr.expectations.gx_runner import _gx_config
    from nrr.expectations.ledger_input import stage_ledger

    path, _ = defects
    settings = make_settings(path.parent)
    con = duckdb.connect()
    stage_ledger(con, path, settings.reporting_currency)
    frame = con.sql("select * from ledger").df()
    con.close()
    window = CloseWindow.for_month(AS_OF, settings.timezone)
    suite = load_suite("ledger", _parameters(settings, window, "ledger", None))
    direct = [spec for spec in suite.expectations if spec.audit is None]
    context = gx.get_context(mode="ephemeral")
    batch = (
        context.data_sources.add_pandas("pandas")
        .add_dataframe_asset("ledger")
        .add_batch_definition_whole_dataframe("all")
        .get_batch(batch_parameters={"dataframe": frame})
    )
    by_pandas = {}
    for spec in direct:
        result = batch.validate(_gx_config(spec), result_format={"result_format": "SUMMARY"})
        by_pandas[spec.description] = (
            result.success,
            result.result.get("unexpected_count"),
            result.result.get("element_count"),
        )
    by_duckdb = {
        o.description: (o.success, o.unexpected_count, o.element_count)
        for o in defect_report.results
        if o.audit is None and o.description in by_pandas
    }
    assert by_duckdb == by_pandas
    assert any(not success for success, _, _ in by_pandas.values())


def test_sixty_percent_drop_in_rows_is_critical(tmp_path, clean_ledger, clean_report):
    rows = clean_report.row_counts["ledger"]
    previous = CloseStats(period=AS_OF, row_counts={"ledger": round(rows / 0.4)})
    report = validate_inputs(
        make_settings(tmp_path), as_of=AS_OF, ledger_path=clean_ledger, previous=previous
    )
    drop = outcome(
        report, "row count has not dropped beyond the tolerance since the previous close"
    )
    assert not drop.success and drop.severity is Severity.CRITICAL
    assert drop.observed_value == rows
    assert [o.description for o in report.results if not o.success] == [drop.description]
    assert not report.passed


def test_growth_beyond_tolerance_only_warns(tmp_path, clean_ledger, clean_report):
    previous = CloseStats(period=AS_OF, row_counts={"ledger": 10})
    report = validate_inputs(
        make_settings(tmp_path), as_of=AS_OF, ledger_path=clean_ledger, previous=previous
    )
    assert [(o.severity, o.success) for o in report.failures] == [(Severity.WARNING, False)]
    assert report.passed


def test_ledger_written_before_the_month_ended_is_stale(tmp_path, clean_ledger):
    stale = tmp_path / "stale.csv"
    stale.write_bytes(clean_ledger.read_bytes())
    moment = datetime(2023, 12, 20, 12, 0).timestamp()
    os.utime(stale, (moment, moment))
    report = validate_inputs(make_settings(tmp_path), as_of=AS_OF, ledger_path=stale, previous=None)
    fresh = outcome(report, "the ledger file was written after the closed month ended")
    assert not fresh.success and fresh.severity is Severity.WARNING
    assert report.passed  # a warning lets the close proceed


def test_data_docs_and_summary_are_kept_with_the_run(defect_report):
    run_dir = defect_report.run_dir
    assert defect_report.data_docs_path == run_dir / "data_docs" / "index.html"
    assert defect_report.data_docs_path.is_file()
    pages = list((run_dir / "data_docs" / "validations").rglob("*.html"))
    assert len(pages) == 1 and "mrr is not negative" in pages[0].read_text()
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["passed"] is False and summary["highest_failed_severity"] == "critical"
    assert summary["row_counts"] == defect_report.row_counts
    assert summary["critical_failures"] == len(defect_report.blocking)


def test_summary_markdown_names_failures_with_examples(defect_report):
    text = defect_report.summary_markdown()
    assert "FAILED" in text
    assert "ledger: mrr is not negative (critical): 1 offending row(s)" in text
    assert "customer_id=cus_neg" in text


def test_unreadable_parquet_is_reported_with_its_name(tmp_path):
    broken = tmp_path / "ledger.parquet"
    broken.write_bytes(b"PAR1 this is not parquet")
    with pytest.raises(LedgerError, match=r"ledger\.parquet"):
        validate_inputs(make_settings(tmp_path), as_of=AS_OF, ledger_path=broken, previous=None)


def test_missing_ledger_and_missing_columns_are_clear_errors(tmp_path):
    with pytest.raises(NrrError, match=r"not found: .*absent\.csv"):
        validate_inputs(
            make_settings(tmp_path), as_of=AS_OF, ledger_path=tmp_path / "absent.csv", previous=None
        )
    parquet = tmp_path / "partial.parquet"
    pq.write_table(pa.table({"customer_id": ["a"], "mrr": [1.0]}), parquet)
    with pytest.raises(LedgerError, match=r"partial\.parquet lacks the required column"):
        validate_inputs(make_settings(tmp_path), as_of=AS_OF, ledger_path=parquet, previous=None)


def test_typed_parquet_ledger_fails_the_same_checks_on_the_same_rows(tmp_path):
    """A Parquet ledger's own dates and amounts are checked without a round trip through
    text: its defects fail the same expectations, naming the same file rows."""
    rows = clean_rows()
    template = dict.fromkeys(rows[0], "")
    typed_defects = [d for d in DEFECTS if d[0] in (
        "mrr is not negative", "end_date is not before start_date",
        "no period starts after the closed month (future rows are not counted)",
        "currency is an ISO 4217 code")]  # fmt: skip
    planted = [{**template, **row} for _, _, row in typed_defects]
    table = pa.Table.from_pylist(rows + planted)
    typed = table.set_column(
        table.schema.get_field_index("mrr"), "mrr", table["mrr"].cast(pa.float64())
    )
    for column in ("start_date", "end_date"):
        values = [None if v == "" else v for v in typed[column].to_pylist()]
        typed = typed.set_column(
            typed.schema.get_field_index(column), column, pa.array(values).cast(pa.date32())
        )
    path = tmp_path / "ledger.parquet"
    pq.write_table(typed, path)
    report = validate_inputs(make_settings(tmp_path), as_of=AS_OF, ledger_path=path, previous=None)
    assert {o.description for o in report.results if not o.success} == {d[0] for d in typed_defects}
    for index, (description, severity, _) in enumerate(typed_defects):
        found = outcome(report, description)
        assert found.severity is severity and found.unexpected_count == 1
        assert found.examples[0]["_row"] == len(rows) + 1 + index

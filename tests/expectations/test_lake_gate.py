"""The input gate on the raw Stripe lake, extracted with the real client from the local
Stripe server: a clean lake passes every check; each planted defect fails the right
expectation with the right severity; broken or missing files are named in a clear error."""

from __future__ import annotations

import json
import shutil
from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from nrr.errors import NrrError
from nrr.expectations.gates import validate_inputs
from nrr.expectations.report import CloseStats, Severity, ValidationReport
from nrr.settings import Settings

AS_OF = date(2024, 2, 1)  # the account lives 2023-01 .. 2024-02 (its clock: 2024-03-01)


@pytest.fixture(scope="session")
def extracted_lake(tmp_path_factory) -> Path:
    """A data dir whose lake/stripe was filled by `extract` from the local Stripe server."""
    from nrr.sandbox.stripe_generator import generate_account
    from nrr.sandbox.stripe_server import serve
    from nrr.stripe_source.extract import extract

    account = generate_account(60, 14, first_month=date(2023, 1, 1), seed=1)
    data_dir = tmp_path_factory.mktemp("lake")
    account.write_fx_rates(data_dir / "fx.csv")
    with serve(account, port=0, api_key="sk_test_local") as server:
        extract(
            Settings(
                data_dir=data_dir,
                stripe_api_key="sk_test_local",
                stripe_api_base=server.url,
            ),
            full=True,
        )
    return data_dir


def lake_settings(data_dir: Path) -> Settings:
    return Settings(data_dir=data_dir, fx_rates_path=data_dir / "fx.csv")


def copy_lake(source: Path, target: Path) -> Path:
    shutil.copytree(source, target)
    return target


def lake_file(data_dir: Path, name: str) -> Path:
    return data_dir / "lake" / "stripe" / f"{name}.parquet"


def rewrite(data_dir: Path, name: str, change) -> None:
    path = lake_file(data_dir, name)
    pq.write_table(change(pq.read_table(path)), path)


def set_value(table: pa.Table, row: int, column: str, value) -> pa.Table:
    values = table[column].to_pylist()
    values[row] = value
    index = table.schema.get_field_index(column)
    field = table.schema.field(column)
    return table.set_column(index, field, pa.array(values, field.type))


def append_copy(table: pa.Table, row: int, **changes) -> pa.Table:
    extra = table.slice(row, 1)
    for column, value in changes.items():
        extra = set_value(extra, 0, column, value)
    return pa.concat_tables([table, extra])


def failed(report: ValidationReport) -> dict[str, Severity]:
    return {f"{o.dataset}: {o.description}": o.severity for o in report.results if not o.success}


@pytest.fixture(scope="module")
def clean_report(extracted_lake) -> ValidationReport:
    return validate_inputs(
        lake_settings(extracted_lake), as_of=AS_OF, ledger_path=None, previous=None
    )


def test_extracted_lake_passes_every_check(clean_report):
    assert failed(clean_report) == {}
    assert clean_report.passed
    assert clean_report.row_counts["invoice_lines"] > 100
    assert {o.dataset for o in clean_report.results} >= {
        "customers",
        "prices",
        "subscriptions",
        "invoices",
        "invoice_lines",
        "stripe_extraction",
    }


LINE_DEFECTS = {
    "invoice_lines: id is unique (one row per object)": Severity.CRITICAL,
    "invoices: every invoice has all its lines in the lake (line_count)": Severity.CRITICAL,
    "invoice_lines: every line's invoice exists": Severity.CRITICAL,
    "invoice_lines: currency is an ISO 4217 code": Severity.CRITICAL,
    "invoice_lines: every currency has an exchange rate": Severity.CRITICAL,
    "invoice_lines: quantities are not negative": Severity.CRITICAL,
    "invoices: created is not in the future (after the validation time)": Severity.CRITICAL,
    "subscriptions: every subscription's customer exists": Severity.WARNING,
}


@pytest.fixture(scope="module")
def defect_report(tmp_path_factory, extracted_lake) -> ValidationReport:
    """One lake with every defect, each planted in its own rows."""
    data_dir = copy_lake(extracted_lake, tmp_path_factory.mktemp("defects") / "data")

    def lines(table: pa.Table) -> pa.Table:
        table = append_copy(table, 0)  # duplicate invoice line (its invoice now has one more)
        table = append_copy(table, 1, id="il_orphan", invoice_id="in_missing")
        table = append_copy(table, 2, id="il_xyz", currency="xyz")  # not a currency
        table = append_copy(table, 3, id="il_chf", currency="chf")  # no CHF rate
        return append_copy(table, 4, id="il_negative", quantity=-3)

    rewrite(data_dir, "invoice_lines", lines)
    rewrite(
        data_dir,
        "invoices",
        lambda t: set_value(
            t, 5, "created", pa.scalar(1_924_992_000_000_000, pa.timestamp("us", tz="UTC"))
        ),
    )  # 2031-01-01
    rewrite(
        data_dir,
        "subscriptions",
        lambda t: append_copy(t, 0, id="sub_orphan", customer_id="cus_missing"),
    )
    return validate_inputs(lake_settings(data_dir), as_of=AS_OF, ledger_path=None, previous=None)


def test_planted_defects_fail_exactly_their_expectations(defect_report):
    assert failed(defect_report) == LINE_DEFECTS
    assert not defect_report.passed


@pytest.mark.parametrize(
    ("description", "offender"),
    [
        ("invoice_lines: every line's invoice exists", "il_orphan"),
        ("invoice_lines: currency is an ISO 4217 code", "il_xyz"),
        ("invoice_lines: every currency has an exchange rate", "chf"),
        ("invoice_lines: quantities are not negative", "il_negative"),
        ("subscriptions: every subscription's customer exists", "sub_orphan"),
    ],
)
def test_failures_name_the_offending_rows(defect_report, description, offender):
    [found] = [o for o in defect_report.results if f"{o.dataset}: {o.description}" == description]
    assert found.unexpected_count == 1
    assert offender in {str(v) for example in found.examples for v in example.values()}


def test_duplicate_line_is_counted_once(defect_report):
    [found] = [o for o in defect_report.blocking if o.description.startswith("id is unique")]
    assert found.unexpected_count == 1 and found.examples[0]["copies"] == 2


def test_stale_extraction_is_critical_and_optional_datasets_may_be_absent(tmp_path, extracted_lake):
    data_dir = copy_lake(extracted_lake, tmp_path / "data")
    state_path = data_dir / "lake" / "stripe" / "_state.json"
    state = json.loads(state_path.read_text())
    state["last_run"]["finished_at"] = "2024-02-27T09:00:00+00:00"  # before February ended
    state_path.write_text(json.dumps(state))
    lake_file(data_dir, "credit_notes").unlink()  # an account may have none: no file
    report = validate_inputs(lake_settings(data_dir), as_of=AS_OF, ledger_path=None, previous=None)
    freshness = "the lake was extracted after the closed month ended (freshness)"
    assert failed(report) == {f"stripe_extraction: {freshness}": Severity.CRITICAL}
    [fresh] = report.blocking
    assert fresh.observed_value == "2024-02-27T09:00:00"
    assert report.row_counts["credit_notes"] == 0


def test_sixty_percent_drop_in_invoice_lines_is_critical(extracted_lake, clean_report):
    lines = clean_report.row_counts["invoice_lines"]
    previous = CloseStats(
        period=date(2024, 1, 1),
        row_counts={**clean_report.row_counts, "invoice_lines": round(lines / 0.4)},
    )
    report = validate_inputs(
        lake_settings(extracted_lake), as_of=AS_OF, ledger_path=None, previous=previous
    )
    assert failed(report) == {
        "invoice_lines: row count has not dropped beyond the tolerance since the previous "
        "close": Severity.CRITICAL
    }
    assert report.notes == []  # every volume check ran
    assert report.stats().row_counts == clean_report.row_counts


def test_missing_dataset_is_named(tmp_path, extracted_lake):
    data_dir = copy_lake(extracted_lake, tmp_path / "data")
    lake_file(data_dir, "invoices").unlink()
    with pytest.raises(NrrError, match=r"lacks the invoices dataset \(.*invoices\.parquet"):
        validate_inputs(lake_settings(data_dir), as_of=AS_OF, ledger_path=None, previous=None)


def test_corrupt_parquet_is_named(tmp_path, extracted_lake):
    data_dir = copy_lake(extracted_lake, tmp_path / "data")
    path = lake_file(data_dir, "invoice_lines")
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])  # truncated
    with pytest.raises(
        NrrError,
        match=r"invoice_lines\.parquet \(invoice_lines\) is not "
        r"readable Parquet",
    ):
        validate_inputs(lake_settings(data_dir), as_of=AS_OF, ledger_path=None, previous=None)


def test_no_lake_at_all_is_a_clear_error(tmp_path):
    with pytest.raises(NrrError, match="no Stripe lake at"):
        validate_inputs(lake_settings(tmp_path), as_of=AS_OF, ledger_path=None, previous=None)

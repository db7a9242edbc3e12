"""`nrr compute` and `nrr report` as a user runs them: real processes, real files."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from nrr.sandbox.ledger_generator import generate_ledger, write_ledger

NRR = [sys.executable, "-m", "nrr.cli"]
CONTRACT_COLUMNS = {
    "customer_mrr_monthly": ["month", "customer_id", "mrr", "currency"],
    "mrr_movements": [
        "month", "customer_id", "movement", "amount", "previous_mrr", "mrr", "churn_kind",
    ],
    "retention_windows": [
        "as_of", "window_months", "dimension", "segment", "cohort_customers",
        "retained_customers", "start_mrr", "expansion", "contraction", "churn",
        "reactivated_mrr", "nrr", "grr", "benchmark_band", "reactivation_policy",
    ],
    "cohort_retention": [
        "cohort_month", "age_months", "customers", "start_mrr", "mrr", "nrr", "grr",
    ],
}  # fmt: skip


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*NRR, *args],
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "200", **(env or {})},
        timeout=300,
    )


@pytest.fixture(scope="module")
def computed(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("cli")
    generated = generate_ledger(600, 30, seed=3)
    write_ledger(generated.ledger, root / "ledger.csv")
    result = run("compute", "--ledger", str(root / "ledger.csv"), "--as-of", "2024-06",
                 "--data-dir", str(root / "data"))  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "Computed 2024-06" in result.stdout
    return root


def test_compute_builds_the_contract_tables_with_their_exact_columns(computed):
    con = duckdb.connect(str(computed / "data" / "warehouse.duckdb"), read_only=True)
    for table, columns in CONTRACT_COLUMNS.items():
        described = [row[0] for row in con.execute(f"describe {table}").fetchall()]
        assert described[: len(columns)] == columns, table
    types = dict(con.execute("select column_name, data_type from duckdb_columns() "
                             "where table_name = 'retention_windows'").fetchall())  # fmt: skip
    assert (types["as_of"], types["window_months"], types["nrr"]) == ("DATE", "INTEGER", "DOUBLE")
    dims = {
        r[0] for r in con.execute("select distinct dimension from retention_windows").fetchall()
    }
    assert dims == {"all", "acv_band", "plan", "country", "channel"}
    assert con.execute("select distinct reactivation_policy from retention_windows").fetchall() == [
        ("exclude",)
    ]


def test_report_table_and_json_show_the_same_headline(computed):
    table = run("report", "--as-of", "2024-06", "--data-dir", str(computed / "data"))
    assert table.returncode == 0, table.stderr
    for section in ("trailing 12 months to June 2024", "Monthly and quarterly", "NRR waterfall",
                    "MRR bridge", "Segments", "Acquisition cohorts"):  # fmt: skip
        assert section in table.stdout
    as_json = run("report", "--as-of", "2024-06", "--data-dir", str(computed / "data"),
                  "--format", "json")  # fmt: skip
    assert as_json.returncode == 0, as_json.stderr
    data = json.loads(as_json.stdout)
    con = duckdb.connect(str(computed / "data" / "warehouse.duckdb"), read_only=True)
    nrr, grr, band = con.execute(
        """select nrr, grr, benchmark_band from retention_windows
           where as_of = '2024-06-01' and window_months = 12 and dimension = 'all'"""
    ).fetchone()
    assert data["headline"]["nrr"] == pytest.approx(nrr)
    assert data["headline"]["grr"] == pytest.approx(grr)
    assert data["headline"]["benchmark_band"] == band
    assert f"{nrr * 100:.1f}%" in table.stdout
    assert [step["step"] for step in data["waterfall"]] == [
        "start", "contraction", "churn", "expansion", "nrr",
    ]  # fmt: skip
    assert data["monthly"]["nrr_annualised"] == pytest.approx(data["monthly"]["nrr"] ** 12)
    assert {s["dimension"] for s in data["segments"]} == {"acv_band", "plan", "country", "channel"}
    assert data["cohorts"] and all("3" in map(str, c["nrr"]) for c in data["cohorts"])


def test_reactivation_policy_flag_is_recorded(tmp_path, computed):
    result = run("compute", "--ledger", str(computed / "ledger.csv"), "--as-of", "2024-06",
                 "--data-dir", str(tmp_path), "--reactivation-policy", "include")  # fmt: skip
    assert result.returncode == 0, result.stderr
    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"), read_only=True)
    assert con.execute("select distinct reactivation_policy from retention_windows").fetchall() == [
        ("include",)
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["compute", "--ledger", "nope.csv", "--as-of", "2024-06"], "ledger file not found"),
        (["compute", "--ledger", "x.csv", "--as-of", "June"], "is not a month"),
        (["report", "--as-of", "2024-06"], "no warehouse at"),
    ],
)
def test_user_mistakes_are_one_sentence_without_traceback(tmp_path, args, message):
    result = run(*args, "--data-dir", str(tmp_path / "empty"))
    assert result.returncode != 0
    assert message in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_bad_rows_are_listed_with_file_and_row(tmp_path):
    ledger = tmp_path / "bad.csv"
    ledger.write_text("customer_id,start_date,mrr\na,2024-01-01,10\nb,2024-01-01,-3\n")
    result = run("compute", "--ledger", str(ledger), "--as-of", "2024-02",
                 "--data-dir", str(tmp_path / "d"))  # fmt: skip
    assert result.returncode == 1
    assert f"{ledger}, row 2: mrr -3 is negative" in result.stderr.replace("\n", "")
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "d").exists()


def test_invalid_configuration_is_a_clear_error(tmp_path):
    result = run("report", "--as-of", "2024-06", "--data-dir", str(tmp_path),
                 env={"NRR_REPORTING_CURRENCY": "dollars"})  # fmt: skip
    assert result.returncode == 1
    assert (
        "invalid configuration: NRR_REPORTING_CURRENCY: reporting currency must be a 3-letter"
        in result.stderr
    )


def test_compute_does_not_import_the_orchestration_stack(tmp_path, computed):
    probe = (
        "import sys\n"
        "from nrr.cli import main\n"
        f"sys.argv = ['nrr', 'compute', '--ledger', {str(computed / 'ledger.csv')!r},"
        f" '--as-of', '2024-06', '--data-dir', {str(tmp_path)!r}]\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "heavy = [m for m in ('prefect', 'great_expectations', 'stripe', 'slack_sdk', 'dask')"
        " if m in sys.modules]\n"
        "print('HEAVY', heavy)\n"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                            timeout=300)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "HEAVY []" in result.stdout


def test_compute_replaces_tables_of_an_earlier_version_with_its_views(tmp_path):
    """Warehouses written before customer_mrr_monthly and mrr_movements became views over
    their facts hold tables of those names: the next compute replaces them, keeping rows."""
    generated = generate_ledger(200, 24, seed=4)
    write_ledger(generated.ledger, tmp_path / "ledger.parquet")
    data = tmp_path / "data"
    data.mkdir()
    con = duckdb.connect(str(data / "warehouse.duckdb"))
    con.execute("create table customer_mrr_monthly as select 1 as stale")
    con.execute("create table mrr_movements as select 1 as stale")
    con.close()
    result = run("compute", "--ledger", str(tmp_path / "ledger.parquet"), "--as-of", "2023-12",
                 "--data-dir", str(data))  # fmt: skip
    assert result.returncode == 0, result.stderr
    con = duckdb.connect(str(data / "warehouse.duckdb"), read_only=True)
    try:
        views = {r[0] for r in con.execute("select view_name from duckdb_views()").fetchall()}
        assert {"customer_mrr_monthly", "mrr_movements"} <= views
        facts, readable = con.execute(
            "select (select count(*) from customer_mrr_facts),"
            " (select count(*) from customer_mrr_monthly)"
        ).fetchone()
        assert facts == readable > 0
    finally:
        con.close()

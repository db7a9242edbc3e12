"""`nrr validate` as a user runs it: a real process, real files, exit codes that gate."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.expectations.conftest import FX, clean_rows, write_csv

NRR = [sys.executable, "-m", "nrr.cli", "validate"]


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*NRR, *args],
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "200", "NRR_INLINE_FX_RATES": json.dumps(FX)},
        timeout=300,
    )


@pytest.fixture
def data_dir(tmp_path, clean_warehouse) -> Path:
    target = tmp_path / "data"
    target.mkdir()
    shutil.copy(clean_warehouse, target / "warehouse.duckdb")
    return target


def test_clean_inputs_and_warehouse_pass(data_dir, clean_ledger):
    result = run("--data-dir", str(data_dir), "--ledger", str(clean_ledger), "--as-of", "2023-12")
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("passed: all") == 2  # inputs, then outputs
    assert "customer_mrr_monthly" in result.stdout and "ledger" in result.stdout
    runs = sorted(p.name for p in (data_dir / "validation").iterdir())
    assert [r.split("-")[2] for r in runs] == ["inputs", "outputs"]
    assert all((data_dir / "validation" / r / "data_docs" / "index.html").is_file() for r in runs)


def test_critical_failure_exits_non_zero_and_names_it(tmp_path, data_dir):
    rows = clean_rows()
    rows.append({**dict.fromkeys(rows[0], ""), "customer_id": "cus_neg",
                 "start_date": "2023-02-01", "mrr": "-40"})  # fmt: skip
    ledger = write_csv(rows, tmp_path / "bad.csv")
    result = run("--data-dir", str(data_dir), "--ledger", str(ledger), "--as-of", "2023-12",
                 "--scope", "inputs")  # fmt: skip
    assert result.returncode == 1
    assert "mrr is not negative" in result.stdout and "cus_neg" in result.stdout
    assert "FAILED: 1 critical check(s) failed" in result.stdout
    assert "Traceback" not in result.stderr + result.stdout


def test_unreadable_ledger_is_one_clear_line(tmp_path, data_dir):
    broken = tmp_path / "ledger.parquet"
    broken.write_bytes(b"PAR1 not really parquet PAR1")
    result = run("--data-dir", str(data_dir), "--ledger", str(broken), "--as-of", "2023-12")
    assert result.returncode == 1
    assert "error:" in result.stderr and str(broken) in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_json_output_for_scripts(data_dir):
    result = run("--data-dir", str(data_dir), "--scope", "outputs", "--format", "json")
    assert result.returncode == 0, result.stderr
    [report] = json.loads(result.stdout)
    assert report["phase"] == "outputs" and report["as_of"] == "2023-12-01"  # warehouse month
    assert report["passed"] is True and report["critical_failures"] == 0
    assert {r["dataset"] for r in report["results"]} >= {"mrr_bridge", "retention_windows"}

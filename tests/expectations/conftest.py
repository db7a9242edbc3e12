"""Small real datasets for the validation gates: a generated ledger written as CSV, and a
warehouse computed from it with the real engine. Defects are planted in copies."""

from __future__ import annotations

import csv
import shutil
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pyarrow as pa
import pytest

from nrr.compute import compute
from nrr.sandbox.ledger_generator import generate_ledger
from nrr.settings import Settings

AS_OF = date(2023, 12, 1)  # the generated ledger covers 2022-01 .. 2023-12
FX = {"eur": 1.1}


def make_settings(data_dir: Path, **overrides: object) -> Settings:
    return Settings(data_dir=data_dir, inline_fx_rates=dict(FX), **overrides)


def clean_rows() -> list[dict[str, str]]:
    """A realistic ledger: 150 customers over 24 months, some of them billed in EUR."""
    table: pa.Table = generate_ledger(150, 24, first_month=date(2022, 1, 1), seed=11).ledger
    rows = [{k: "" if v is None else str(v) for k, v in row.items()} for row in table.to_pylist()]
    for row in rows[::7]:
        row["currency"] = "eur"
    return rows


def write_csv(rows: list[dict[str, str]], path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


@pytest.fixture(scope="session")
def clean_ledger(tmp_path_factory) -> Path:
    return write_csv(clean_rows(), tmp_path_factory.mktemp("ledger") / "ledger.csv")


@pytest.fixture(scope="session")
def clean_warehouse(tmp_path_factory, clean_ledger) -> Path:
    """A warehouse computed from the clean ledger; tests copy it before planting defects."""
    data_dir = tmp_path_factory.mktemp("warehouse")
    compute(make_settings(data_dir), AS_OF, clean_ledger)
    return data_dir / "warehouse.duckdb"


def copy_warehouse(clean_warehouse: Path, data_dir: Path, *defect_sql: str) -> Settings:
    """Settings over a private copy of the clean warehouse, after running `defect_sql`."""
    import duckdb

    data_dir.mkdir(parents=True, exist_ok=True)
    shutil.copy(clean_warehouse, data_dir / "warehouse.duckdb")
    con = duckdb.connect(str(data_dir / "warehouse.duckdb"))
    try:
        for sql in defect_sql:
            con.execute(sql)
    finally:
        con.close()
    return make_settings(data_dir)


@pytest.fixture
def warehouse_copy(tmp_path, clean_warehouse) -> Callable[..., Settings]:
    return lambda *defect_sql: copy_warehouse(clean_warehouse, tmp_path / "data", *defect_sql)

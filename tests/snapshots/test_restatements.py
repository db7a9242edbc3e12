"""Restatements are every figure that moved: the set is read from the figures' schema, so a
figure forgotten by the store (or added to the model later) cannot silently stop being
restated."""

from __future__ import annotations

import shutil
from dataclasses import replace
from datetime import date
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from nrr.compute import compute_month
from nrr.settings import Settings
from nrr.snapshots.month_figures import META_FILE, WINDOWS_FILE, read_meta
from nrr.snapshots.store import publish_staged_month

PERIOD = date(2024, 6, 1)
LEDGER = (
    "customer_id,start_date,end_date,mrr,plan\n"
    "a,2023-01-01,2024-03-10,100,pro\n"
    "a,2024-03-10,,150,pro\n"
    "b,2023-01-01,2024-02-01,200,basic\n"
    "c,2023-05-01,,50,basic\n"
    "d,2024-02-01,,80,pro\n"
)
KEYS = ("as_of", "window_months", "dimension", "segment")


@pytest.fixture
def staged(tmp_path) -> tuple[Settings, Path]:
    """Version 1 of June published, and its staged figures to make version 2 from."""
    settings = Settings(data_dir=tmp_path / "data")
    ledger = tmp_path / "ledger.csv"
    ledger.write_text(LEDGER)
    month = compute_month(settings, PERIOD, ledger, tmp_path / "v1")
    assert publish_staged_month(settings, month.directory).outcome == "published"
    return settings, month.directory


def _figure_columns(table: pa.Table) -> list[str]:
    """Every numeric column that is not a key, straight from the schema."""
    return [
        field.name
        for field in table.schema
        if field.name not in KEYS
        and (pa.types.is_integer(field.type) or pa.types.is_floating(field.type)
             or pa.types.is_decimal(field.type))
    ]  # fmt: skip


def _second_version(source: Path, target: Path, change) -> pa.Table:
    """A copy of the staged month with its windows changed by `change` and new inputs."""
    shutil.copytree(source, target)
    windows = change(pq.read_table(source / WINDOWS_FILE))
    pq.write_table(windows, target / WINDOWS_FILE)
    meta = read_meta(source)
    (target / META_FILE).write_text(replace(meta, input_fingerprint="changed-inputs").to_json())
    return windows


def _differences(old: pa.Table, new: pa.Table) -> set[tuple]:
    """(window, dimension, segment, column) of every figure that differs, compared literally."""
    old_rows = {tuple(r[k] for k in KEYS[1:]): r for r in old.to_pylist()}
    differing = set()
    for row in new.to_pylist():
        before = old_rows[tuple(row[k] for k in KEYS[1:])]
        for column in _figure_columns(new):
            a, b = before[column], row[column]
            if (a is None) != (b is None) or (a is not None and abs(a - b) > 1e-9):
                differing.add((*(row[k] for k in KEYS[1:]), column))
    return differing


def test_every_figure_that_moved_is_restated_and_nothing_else(staged, tmp_path):
    settings, v1 = staged
    original = pq.read_table(v1 / WINDOWS_FILE)
    columns = _figure_columns(original)
    assert {"nrr", "grr", "churn", "start_mrr", "end_mrr", "logo_retention"} <= set(columns)

    def move_one_figure_per_row(table: pa.Table) -> pa.Table:
        # figure column j moves in row j (cycling over the rows): every one moves somewhere
        data = table.to_pydict()
        for j, column in enumerate(columns):
            i = j % table.num_rows
            value = data[column][i]
            data[column][i] = 1 if value is None else value + 1
        return pa.table(data, schema=table.schema)

    changed = _second_version(v1, tmp_path / "v2", move_one_figure_per_row)
    result = publish_staged_month(settings, tmp_path / "v2")
    assert result.outcome == "restated"

    expected = _differences(original, changed)
    assert {metric for *_, metric in expected} == set(columns)  # every figure moved somewhere
    restated = {(r.window_months, r.dimension, r.segment, r.metric) for r in result.restatements}
    assert restated == expected
    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    stored = con.execute(
        "select window_months, dimension, segment, metric from snapshot_restatements"
    ).fetchall()
    con.close()
    assert set(stored) == expected and len(stored) == len(expected)


def test_a_figure_that_appears_or_disappears_is_restated(staged, tmp_path):
    settings, v1 = staged

    def null_the_company_nrr(table: pa.Table) -> pa.Table:
        data = table.to_pydict()
        for i in range(table.num_rows):
            if data["dimension"][i] == "all" and data["window_months"][i] == 12:
                data["nrr"][i] = None
        return pa.table(data, schema=table.schema)

    original = pq.read_table(v1 / WINDOWS_FILE)
    changed = _second_version(v1, tmp_path / "v2", null_the_company_nrr)
    result = publish_staged_month(settings, tmp_path / "v2")
    assert _differences(original, changed) == {(12, "all", "all", "nrr")}
    (moved,) = result.restatements
    (old_nrr,) = [
        r["nrr"]
        for r in original.to_pylist()
        if r["dimension"] == "all" and r["window_months"] == 12
    ]
    assert (moved.metric, moved.old, moved.new, moved.delta) == ("nrr", old_nrr, None, None)

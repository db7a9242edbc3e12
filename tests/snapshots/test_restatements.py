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
from nrr.snapshots.month_figures import (
    BRIDGE_FILE,
    COHORTS_FILE,
    META_FILE,
    WINDOWS_FILE,
    read_meta,
)
from nrr.snapshots.store import latest_stats, publish_staged_month, published_fingerprints

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
        # figure column j moves in row j (cycling over the rows): every one moves somewhere,
        # by the smallest step of its type (a millionth for amounts and ratios)
        data = table.to_pydict()
        for j, column in enumerate(columns):
            i = j % table.num_rows
            step = 1 if pa.types.is_integer(table.schema.field(column).type) else 1e-6
            value = data[column][i]
            data[column][i] = step if value is None else value + step
        return pa.table(data, schema=table.schema)

    changed = _second_version(v1, tmp_path / "v2", move_one_figure_per_row)
    result = publish_staged_month(settings, tmp_path / "v2")
    assert result.outcome == "restated"

    expected = _differences(original, changed)
    assert {metric for *_, metric in expected} == set(columns)  # every figure moved somewhere
    restated = {(r.window_months, r.dimension, r.segment, r.metric) for r in result.restatements}
    assert restated == expected
    assert {r.as_of for r in result.restatements} == {PERIOD}
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


def _with_changed(file: str, column: str, step: float):
    """A change to the staged month that moves `column` of the first row of `file` only."""

    def change(source: Path, target: Path) -> None:
        shutil.copytree(source, target)
        table = pq.read_table(source / file)
        data = table.to_pydict()
        data[column][0] = data[column][0] + step
        pq.write_table(pa.table(data, schema=table.schema), target / file)
        meta = read_meta(source)
        (target / META_FILE).write_text(replace(meta, input_fingerprint="changed").to_json())

    return change


@pytest.mark.parametrize(
    ("file", "column"),
    [(COHORTS_FILE, "mrr"), (BRIDGE_FILE, "closing_mrr")],
    ids=["cohort-cell", "bridge"],
)
def test_a_moved_cohort_cell_or_bridge_figure_publishes_a_new_version(staged, tmp_path, file,
                                                                      column):  # fmt: skip
    settings, v1 = staged
    _with_changed(file, column, 0.01)(v1, tmp_path / "v2")
    result = publish_staged_month(settings, tmp_path / "v2")
    # no window figure moved, so nothing to restate, but the published matrix did change
    assert (result.outcome, result.snapshot_id, result.restatements) == (
        "restated", "2024-06-v2", [],
    )  # fmt: skip


def test_changed_inputs_with_the_same_figures_write_a_check_not_a_version(staged, tmp_path):
    settings, v1 = staged
    _with_changed(WINDOWS_FILE, "start_mrr", 0.0)(v1, tmp_path / "same")
    result = publish_staged_month(settings, tmp_path / "same", run_id="rerun")
    assert (result.outcome, result.snapshot_id) == ("unchanged", "2024-06-v1")
    assert "no published figure moved" in result.message
    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    checks = con.execute("select run_id, input_fingerprint, snapshot_id from snapshot_checks")
    assert checks.fetchall() == [("rerun", "changed", "2024-06-v1")]
    con.close()
    # the pair is known from now on: the backfill skips it, the next close finds it
    assert published_fingerprints(settings)[PERIOD] == {
        (read_meta(v1).input_fingerprint, read_meta(v1).code_version),
        ("changed", read_meta(v1).code_version),
    }
    again = publish_staged_month(settings, tmp_path / "same")
    assert again.outcome == "unchanged" and "nothing written" in again.message


def test_latest_stats_are_the_last_published_month_before_a_period(staged, tmp_path):
    settings, v1 = staged
    assert latest_stats(settings, PERIOD) is None  # nothing before June
    stats = latest_stats(settings, date(2024, 9, 1))
    assert stats["period"] == PERIOD
    assert stats["customers"] == read_meta(v1).stats["customers"] == 3
    assert stats["total_mrr"] == read_meta(v1).stats["total_mrr"] == 280.0
    assert published_fingerprints(Settings(data_dir=tmp_path / "nowhere")) == {}
    assert latest_stats(Settings(data_dir=tmp_path / "nowhere"), PERIOD) is None


def test_a_figure_new_code_adds_is_stored_and_restated_as_appearing(staged, tmp_path):
    settings, v1 = staged

    def add_a_figure(table: pa.Table) -> pa.Table:
        return table.append_column("new_rate", pa.array([0.5] * table.num_rows, pa.float64()))

    _second_version(v1, tmp_path / "v2", add_a_figure)
    result = publish_staged_month(settings, tmp_path / "v2")
    assert result.outcome == "restated"
    assert {r.metric for r in result.restatements} == {"new_rate"}
    assert all(r.old is None and r.new == 0.5 for r in result.restatements)
    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    stored = con.execute(
        "select snapshot_id, count(new_rate) from snapshot_metrics group by 1 order by 1"
    ).fetchall()
    con.close()
    assert stored == [("2024-06-v1", 0), ("2024-06-v2", pq.read_table(v1 / WINDOWS_FILE).num_rows)]

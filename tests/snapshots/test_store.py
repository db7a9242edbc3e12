"""Snapshots: published numbers never change; changed inputs give version n+1 with the figures
that moved; unchanged inputs write nothing; a crash mid-write leaves the store as it was."""

from __future__ import annotations

import subprocess
import sys
import threading
from datetime import date
from pathlib import Path

import duckdb
import pytest

from nrr.compute import compute_close, compute_month, month_fingerprints
from nrr.settings import Settings
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


@pytest.fixture
def settings(tmp_path) -> Settings:
    return Settings(data_dir=tmp_path / "data")


def _close(settings: Settings, ledger: Path, period: date = PERIOD, tag: str = "x"):
    staged = settings.data_dir / "staging" / tag / f"{period:%Y-%m}"
    _, month = compute_close(settings, period, ledger, staged)
    return publish_staged_month(settings, month.directory, run_id=tag)


def _store(settings: Settings) -> dict[str, list[tuple]]:
    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    try:
        return {
            table: con.execute(f"select * from {table} order by all").fetchall()
            for table in ("snapshots", "snapshot_metrics", "snapshot_cohort_retention",
                          "snapshot_mrr_bridge", "snapshot_restatements")
        }  # fmt: skip
    finally:
        con.close()


def test_first_close_publishes_version_1_with_the_months_figures(settings, tmp_path):
    ledger = tmp_path / "ledger.csv"
    ledger.write_text(LEDGER)
    result = _close(settings, ledger)
    assert (result.outcome, result.snapshot_id, result.version) == ("published", "2024-06-v1", 1)
    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    snapshot = con.execute(
        "select period, version, source, status, code_version, input_fingerprint, stats "
        "from snapshots"
    ).fetchone()
    assert snapshot[:4] == (PERIOD, 1, str(ledger), "published")
    assert snapshot[4].startswith("0.") or "+sql." in snapshot[4]
    assert len(snapshot[5]) == 24
    published = con.execute(
        """select window_months, dimension, segment, nrr, grr from snapshot_metrics
           where snapshot_id = '2024-06-v1' order by all"""
    ).fetchall()
    live = con.execute(
        """select window_months, dimension, segment, nrr, grr from retention_windows
           where as_of = '2024-06-01' order by all"""
    ).fetchall()
    assert published == live and len(published) > 5
    assert con.execute("select count(*) from snapshot_mrr_bridge").fetchone()[0] > 0
    assert con.execute("select max(cohort_month) from snapshot_cohort_retention").fetchone()[0] == (
        date(2024, 2, 1)
    )


def test_unchanged_rerun_writes_nothing_and_says_so(settings, tmp_path):
    ledger = tmp_path / "ledger.csv"
    ledger.write_text(LEDGER)
    _close(settings, ledger)
    before = _store(settings)
    again = _close(settings, ledger, tag="y")
    assert again.outcome == "unchanged" and again.snapshot_id == "2024-06-v1"
    assert "nothing written" in again.message
    assert _store(settings) == before


def test_changed_input_gives_version_2_with_restatements(settings, tmp_path):
    ledger = tmp_path / "ledger.csv"
    ledger.write_text(LEDGER)
    _close(settings, ledger)
    # a late correction: customer c actually paid 60, not 50, since 2023-05
    ledger.write_text(LEDGER.replace("c,2023-05-01,,50,basic", "c,2023-05-01,,60,basic"))
    result = _close(settings, ledger, tag="late")
    assert (result.outcome, result.snapshot_id, result.previous_snapshot_id) == (
        "restated", "2024-06-v2", "2024-06-v1",
    )  # fmt: skip
    moved = {(r.window_months, r.dimension, r.segment, r.metric): r for r in result.restatements}
    start = moved[(12, "all", "all", "start_mrr")]
    assert (start.old, start.new, start.delta) == (350.0, 360.0, 10.0)
    assert (12, "all", "all", "nrr") in moved
    contents = _store(settings)
    assert [row[:3] for row in contents["snapshots"]] == [
        ("2024-06-v1", PERIOD, 1), ("2024-06-v2", PERIOD, 2),
    ]  # fmt: skip
    # version 1 is untouched: its published figures are still there, as they were
    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    v1 = con.execute(
        "select start_mrr from snapshot_metrics where snapshot_id = '2024-06-v1'"
        " and window_months = 12 and dimension = 'all'"
    ).fetchone()[0]
    assert v1 == 350.0
    assert len(contents["snapshot_restatements"]) == len(result.restatements)


def test_a_change_after_the_month_does_not_restate_it(settings, tmp_path):
    ledger = tmp_path / "ledger.csv"
    ledger.write_text(LEDGER)
    fingerprints = month_fingerprints(settings, ledger, [PERIOD])
    _close(settings, ledger)
    # a new customer in August and c cancelling in September: June's figures cannot move
    ledger.write_text(
        LEDGER.replace("c,2023-05-01,,50,basic", "c,2023-05-01,2024-09-15,50,basic")
        + "e,2024-08-01,,500,pro\n"
    )
    assert month_fingerprints(settings, ledger, [PERIOD]) == fingerprints
    assert _close(settings, ledger, tag="later").outcome == "unchanged"


def test_crash_mid_publish_leaves_the_store_exactly_as_it_was(settings, tmp_path):
    ledger = tmp_path / "ledger.csv"
    ledger.write_text(LEDGER)
    _close(settings, ledger)
    before = _store(settings)
    ledger.write_text(LEDGER.replace("d,2024-02-01,,80,pro", "d,2024-02-01,,90,pro"))
    staged = settings.data_dir / "staging" / "crash" / "2024-06"
    compute_close(settings, PERIOD, ledger, staged)
    crashed = subprocess.run(
        [sys.executable, str(Path(__file__).with_name("crashing_publisher.py")),
         str(settings.data_dir), str(staged)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert crashed.returncode == 17, crashed.stderr
    assert _store(settings) == before
    # the next run publishes the change normally
    assert publish_staged_month(settings, staged).snapshot_id == "2024-06-v2"


def test_backfill_month_in_memory_matches_the_close(settings, tmp_path):
    ledger = tmp_path / "ledger.csv"
    ledger.write_text(LEDGER)
    staged = compute_month(settings, PERIOD, ledger, tmp_path / "m")
    assert not settings.warehouse_path.exists()  # nothing shared was touched
    closed = _close(settings, ledger)
    backfilled = publish_staged_month(settings, staged.directory)
    assert backfilled.outcome == "unchanged" and backfilled.snapshot_id == closed.snapshot_id


def test_two_publishers_at_once_publish_one_version(settings, tmp_path):
    ledger = tmp_path / "ledger.csv"
    ledger.write_text(LEDGER)
    staged = [compute_month(settings, PERIOD, ledger, tmp_path / f"s{i}") for i in range(2)]
    results = []

    def publish(month):
        results.append(publish_staged_month(settings, month.directory))

    threads = [threading.Thread(target=publish, args=(m,)) for m in staged]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(r.outcome for r in results) == ["published", "unchanged"]
    assert [row[0] for row in _store(settings)["snapshots"]] == ["2024-06-v1"]

"""Backfill under a real Prefect API: every month snapshotted, idempotent, resumable after a
failure, on threads or on a local Dask cluster of worker processes."""

from __future__ import annotations

import json
import os
from datetime import date

import duckdb
import pytest

from nrr.flows.backfill import backfill
from nrr.flows.common import flow_settings
from nrr.tasks import compute as compute_tasks
from nrr.tasks.common import StepFailed


def _published(data_dir) -> list[str]:
    con = duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True)
    try:
        return [
            r[0] for r in con.execute("select snapshot_id from snapshots order by 1").fetchall()
        ]
    finally:
        con.close()


def test_backfill_of_12_months_survives_a_failure_and_finishes_on_rerun(
    tmp_path, ledger_file, monkeypatch
):
    data = tmp_path / "data"
    monkeypatch.setenv("NRR_BACKFILL_MONTHS_PER_TASK", "1")  # one month per task
    real = compute_tasks.compute_months

    def failing_in_june(settings, months, ledger, staged_dirs):
        if date(2024, 6, 1) in months:
            raise RuntimeError("injected failure for 2024-06")
        return real(settings, months, ledger, staged_dirs)

    monkeypatch.setattr(compute_tasks, "compute_months", failing_in_june)
    with pytest.raises(StepFailed, match=r"1 month\(s\) failed \(2024-06\).*re-run"):
        backfill(from_month="2024-01", to_month="2024-12", ledger=str(ledger_file),
                 data_dir=str(data))  # fmt: skip
    published = _published(data)
    assert len(published) == 11 and "2024-06-v1" not in published

    monkeypatch.setattr(compute_tasks, "compute_months", real)
    report = backfill(from_month="2024-01", to_month="2024-12", ledger=str(ledger_file),
                      data_dir=str(data))  # fmt: skip
    assert (report["published"], report["skipped"], report["failed"]) == (1, 11, 0)
    assert report["outcomes"]["2024-06"] == "published 2024-06-v1"
    assert report["outcomes"]["2024-05"] == "skipped (unchanged)"
    assert _published(data) == [f"2024-{m:02d}-v1" for m in range(1, 13)]
    # quiet on Slack unless asked: nothing was posted to the outbox (where messages go here)
    outbox = flow_settings(str(data)).outbox_dir
    assert outbox == data / "outbox"
    assert sorted(outbox.rglob("*")) == []


def test_backfill_months_equal_the_close_of_each_month(tmp_path, ledger_file):
    from nrr.flows.monthly_close import monthly_close

    data = tmp_path / "data"
    # one engine run up to 2024-05 stages 2024-02..05; March must equal March's own close
    backfill(from_month="2024-02", to_month="2024-05", ledger=str(ledger_file), data_dir=str(data))
    closed = monthly_close(month="2024-03", ledger=str(ledger_file), data_dir=str(data),
                           notify=False)  # fmt: skip
    assert (closed["outcome"], closed["snapshot_id"]) == ("unchanged", "2024-03-v1")


@pytest.mark.slow  # starts a Dask cluster of worker processes
def test_backfill_on_a_local_dask_cluster_of_worker_processes(tmp_path, ledger_file, monkeypatch):
    from distributed import LocalCluster

    data = tmp_path / "data"
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=None) as cluster:  # fmt: skip
        monkeypatch.setenv("NRR_DASK_ADDRESS", cluster.scheduler_address)
        report = backfill(from_month="2024-07", to_month="2024-09", ledger=str(ledger_file),
                          data_dir=str(data))  # fmt: skip
        with cluster.get_client() as client:
            worker_pids = set(client.run(os.getpid).values())
    assert report["published"] == 3
    assert _published(data) == ["2024-07-v1", "2024-08-v1", "2024-09-v1"]
    con = duckdb.connect(str(data / "warehouse.duckdb"), read_only=True)
    computed_by = [json.loads(r[0])["computed_by"] for r in
                   con.execute("select stats from snapshots").fetchall()]  # fmt: skip
    con.close()
    pids = {int(who.rsplit(":", 1)[1]) for who in computed_by}
    assert pids <= worker_pids and os.getpid() not in pids  # computed in Dask worker processes


def test_backfill_blocks_implausible_months_until_confirmed(tmp_path, ledger_file, monkeypatch):
    """A young ledger's second month can double; the gate blocks it and the backfill's own
    --confirm-implausible (the option its refusal names) publishes it, recorded."""
    data = tmp_path / "data"
    # any move against the previous month is implausible, however small the base
    monkeypatch.setenv("NRR_PLAUSIBILITY_GROWTH", "0")
    monkeypatch.setenv("NRR_PLAUSIBILITY_DROP", "0")
    monkeypatch.setenv("NRR_PLAUSIBILITY_MIN_CUSTOMERS", "0")
    with pytest.raises(StepFailed, match=r"month\(s\) failed"):
        backfill(from_month="2024-01", to_month="2024-03", ledger=str(ledger_file),
                 data_dir=str(data))  # fmt: skip
    blocked = _published(data)
    assert "2024-01-v1" in blocked and len(blocked) < 3
    report = backfill(from_month="2024-01", to_month="2024-03", ledger=str(ledger_file),
                      data_dir=str(data), confirm_implausible=True)  # fmt: skip
    assert report["failed"] == 0
    assert _published(data) == ["2024-01-v1", "2024-02-v1", "2024-03-v1"]

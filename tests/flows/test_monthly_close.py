"""The monthly close under a real Prefect API: publish, idempotent re-run, restatement,
concurrency, and a blocked close that publishes nothing."""

from __future__ import annotations

import json
import shutil
import threading
from pathlib import Path

import duckdb
import pytest
from prefect.client.orchestration import get_client

from nrr.flows.monthly_close import monthly_close
from nrr.tasks.common import StepFailed


def _snapshots(data_dir: Path) -> list[tuple]:
    con = duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True)
    try:
        return con.execute(
            "select snapshot_id, version, restatement_count from snapshots order by all"
        ).fetchall()
    finally:
        con.close()


def _store_bytes(data_dir: Path) -> dict[str, list[tuple]]:
    con = duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True)
    try:
        return {
            t: con.execute(f"select * from {t} order by all").fetchall()
            for t in ("snapshots", "snapshot_metrics", "snapshot_restatements")
        }
    finally:
        con.close()


def test_close_publishes_then_rerun_adds_nothing_then_change_restates(tmp_path, ledger_file):
    data = tmp_path / "data"
    first = monthly_close(month="2024-12", ledger=str(ledger_file), data_dir=str(data))
    assert (first["outcome"], first["snapshot_id"]) == ("published", "2024-12-v1")
    assert Path(first["report"]).is_file()
    outbox = list((data / "outbox").rglob("*.json"))
    assert any("summary" in p.name for p in outbox), outbox
    # the summary's headline is the snapshot's
    con = duckdb.connect(str(data / "warehouse.duckdb"), read_only=True)
    nrr = con.execute(
        "select nrr from snapshot_metrics where snapshot_id = '2024-12-v1' "
        "and window_months = 12 and dimension = 'all'"
    ).fetchone()[0]
    con.close()
    summary_text = "\n".join(p.read_text() for p in (data / "outbox").rglob("*summary*.txt"))
    assert f"{nrr * 100:.1f}%" in summary_text

    again = monthly_close(month="2024-12", ledger=str(ledger_file), data_dir=str(data))
    assert again["outcome"] == "unchanged" and again["snapshot_id"] == "2024-12-v1"
    assert _snapshots(data) == [("2024-12-v1", 1, 0)]
    assert len(list((data / "outbox").rglob("*.json"))) == len(outbox)  # nothing re-posted

    changed = tmp_path / "ledger-late-invoice.csv"
    changed.write_text(
        ledger_file.read_text() + "cus_late,2024-03-01,,2500,usd,,business,US,inbound\n"
    )
    third = monthly_close(month="2024-12", ledger=str(changed), data_dir=str(data))
    assert (third["outcome"], third["snapshot_id"]) == ("restated", "2024-12-v2")
    assert third["restatements"] > 0
    rows = _snapshots(data)
    assert rows[0] == ("2024-12-v1", 1, 0) and rows[1][:2] == ("2024-12-v2", 2)
    summary_v2 = (data / "outbox" / "2024-12_summary_v2.txt").read_text()
    assert "restat" in summary_v2.lower()


def test_two_concurrent_closes_publish_one_version(tmp_path, ledger_file):
    data = tmp_path / "data"
    results: list[dict] = []
    errors: list[BaseException] = []

    def close():
        try:
            results.append(monthly_close(month="2024-11", ledger=str(ledger_file),
                                         data_dir=str(data), notify=False))  # fmt: skip
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=close) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    assert sorted(r["outcome"] for r in results) == ["published", "unchanged"]
    assert _snapshots(data) == [("2024-11-v1", 1, 0)]


def test_critical_failure_blocks_the_close_and_leaves_the_store_as_it_was(tmp_path, ledger_file):
    data = tmp_path / "data"
    monthly_close(month="2024-10", ledger=str(ledger_file), data_dir=str(data))
    before = _store_bytes(data)
    warehouse_before = (data / "warehouse.duckdb").read_bytes()
    broken = tmp_path / "broken.csv"
    broken.write_text(ledger_file.read_text() + "cus_bad,2024-01-01,,-40,usd,,team,US,inbound\n")
    with pytest.raises(StepFailed, match=r"validate-inputs.*critical"):
        monthly_close(month="2024-10", ledger=str(broken), data_dir=str(data))
    assert _store_bytes(data) == before
    assert (data / "warehouse.duckdb").read_bytes() == warehouse_before
    blocked = [json.loads(p.read_text()) for p in (data / "outbox").rglob("*blocked*.json")]
    assert len(blocked) == 1
    assert "mrr" in json.dumps(blocked[0]).lower()
    assert not list((data / "outbox").rglob("*failed*.json"))  # no second, generic alert


def test_failing_flow_names_the_step_and_prefect_records_it(tmp_path):
    with pytest.raises(StepFailed, match=r"step 'validate-inputs' failed: .*ledger file not found"):
        monthly_close(month="2024-10", ledger=str(tmp_path / "missing.csv"),
                      data_dir=str(tmp_path / "d"))  # fmt: skip
    import asyncio

    async def last_run_state():
        async with get_client() as client:
            runs = await client.read_flow_runs(limit=1, sort="START_TIME_DESC")
            return runs[0].state

    state = asyncio.run(last_run_state())
    assert state.is_failed()
    assert "validate-inputs" in (state.message or "")
    # one failure alert (to the outbox here): the step and the one-line reason
    alerts = list((tmp_path / "d" / "outbox").glob("2024-10_failed_*.txt"))
    assert len(alerts) == 1, alerts
    text = alerts[0].read_text()
    assert "validate-inputs" in text and "ledger file not found" in text
    shutil.rmtree(tmp_path / "d", ignore_errors=True)

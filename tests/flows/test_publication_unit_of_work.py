"""A publication and its report and messages are one unit of work; implausible figures are
published only when the user confirms them, and the confirmation is on the snapshot."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zlib
from pathlib import Path

import duckdb
import pytest

from nrr import cli

KILLED_AFTER_PUBLISH = """
import os, sys
import nrr.flows.monthly_close as close
close.build_report = lambda *args, **kwargs: os._exit(9)  # killed right after publishing
close.monthly_close(month=sys.argv[1], ledger=sys.argv[2], data_dir=sys.argv[3])
"""


def killed_close(tmp_path: Path, month: str, ledger: Path, data: Path) -> None:
    """A close whose process dies between publishing and writing the report."""
    from prefect.settings import PREFECT_API_URL

    env = {**os.environ, "PREFECT_API_URL": str(PREFECT_API_URL.value())}
    done = subprocess.run(
        [sys.executable, "-c", KILLED_AFTER_PUBLISH, month, str(ledger), str(data)],
        env=env, cwd=tmp_path, capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert done.returncode == 9, done.stderr[-3000:]


def snapshot_ids(data: Path) -> list[str]:
    con = duckdb.connect(str(data / "warehouse.duckdb"), read_only=True)
    try:
        return [
            r[0] for r in con.execute("select snapshot_id from snapshots order by 1").fetchall()
        ]
    finally:
        con.close()


def summaries(data: Path, month: str) -> list[Path]:
    return sorted((data / "outbox").glob(f"{month}_summary*.json"))


def run_main(monkeypatch, capsys, argv: list[str]) -> tuple[int, str]:
    monkeypatch.setattr("sys.argv", ["nrr", *argv])
    code = 0
    try:
        cli.main()
    except SystemExit as exit_:
        code = exit_.code if isinstance(exit_.code, int) else 1
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def test_a_close_killed_after_publishing_is_completed_by_notify_retry(
    tmp_path, ledger_file, monkeypatch, capsys
):
    data = tmp_path / "data"
    killed_close(tmp_path, "2024-11", ledger_file, data)
    assert snapshot_ids(data) == ["2024-11-v1"]
    assert not (data / "reports" / "2024-11-v1.html").exists()
    assert summaries(data, "2024-11") == []

    code, output = run_main(monkeypatch, capsys, ["notify", "--retry", "--data-dir", str(data)])

    assert code == 0, output
    assert "completed 2024-11-v1" in output
    assert (data / "reports" / "2024-11-v1.html").is_file()
    assert len(summaries(data, "2024-11")) == 1
    code, output = run_main(monkeypatch, capsys, ["notify", "--retry", "--data-dir", str(data)])
    assert code == 0 and "Nothing queued" in output  # completed once, not twice


def test_the_next_close_completes_what_a_killed_one_left(tmp_path, ledger_file):
    from nrr.flows.monthly_close import monthly_close

    data = tmp_path / "data"
    killed_close(tmp_path, "2024-11", ledger_file, data)

    result = monthly_close(month="2024-12", ledger=str(ledger_file), data_dir=str(data))

    assert result["snapshot_id"] == "2024-12-v1"
    assert (data / "reports" / "2024-11-v1.html").is_file()
    assert len(summaries(data, "2024-11")) == 1
    assert len(summaries(data, "2024-12")) == 1


def _without_two_fifths(ledger: Path, target: Path) -> Path:
    lines = ledger.read_text().splitlines()
    kept = [ln for ln in lines[1:] if zlib.crc32(ln.split(",")[0].encode()) % 5 < 3]
    target.write_text("\n".join([lines[0], *kept]) + "\n")
    return target


def test_implausible_figures_confirmed_by_the_user_are_recorded_on_the_snapshot(
    tmp_path, ledger_file, monkeypatch
):
    from nrr.flows.monthly_close import monthly_close
    from nrr.tasks.common import StepFailed

    data = tmp_path / "data"
    monthly_close(month="2024-10", ledger=str(ledger_file), data_dir=str(data), notify=False)
    smaller = _without_two_fifths(ledger_file, tmp_path / "smaller.csv")
    monkeypatch.setenv("NRR_PLAUSIBILITY_DROP", "0.2")
    with pytest.raises(StepFailed, match="implausible figures"):
        monthly_close(month="2024-10", ledger=str(smaller), data_dir=str(data), notify=False)
    assert snapshot_ids(data) == ["2024-10-v1"]

    result = monthly_close(month="2024-10", ledger=str(smaller), data_dir=str(data),
                           notify=False, confirm_implausible=True)  # fmt: skip

    assert result["snapshot_id"] == "2024-10-v2"
    con = duckdb.connect(str(data / "warehouse.duckdb"), read_only=True)
    stats = json.loads(
        con.execute("select stats from snapshots where snapshot_id = '2024-10-v2'").fetchone()[0]
    )
    con.close()
    confirmed = {(j["figure"], j["baseline"]) for j in stats["plausibility_confirmed"]}
    assert ("customers", "2024-10-v1") in confirmed
    jump = next(j for j in stats["plausibility_confirmed"] if j["figure"] == "customers")
    assert jump["new"] < jump["old"] * 0.8

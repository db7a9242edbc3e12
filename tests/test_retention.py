"""Retention: the newest N run staging dirs and validation runs stay, older ones go."""

from __future__ import annotations

import os

import pytest

from nrr.retention import prune_run_outputs
from nrr.settings import Settings

pytestmark = pytest.mark.usefixtures("clean_env")


def _dirs(root, names):
    for age, name in enumerate(names):  # the first name is the newest
        folder = root / name
        (folder / "data_docs").mkdir(parents=True)
        (folder / "data_docs" / "index.html").write_text("x" * 1000)
        stamp = 1_700_000_000 - age * 60
        os.utime(folder, (stamp, stamp))


def test_keeps_the_newest_runs_and_validations_and_nothing_else(tmp_path):
    data = tmp_path / "data"
    _dirs(data / "runs", [f"close-2024-0{i}-abc" for i in range(1, 6)])
    _dirs(data / "validation", [f"2024-0{i}-input-x" for i in range(1, 8)])
    (data / "warehouse.duckdb").write_text("keep me")
    (data / "lake").mkdir()
    settings = Settings(data_dir=data, keep_runs=2, keep_validations=3)

    pruned = prune_run_outputs(settings)

    assert sorted(p.name for p in (data / "runs").iterdir()) == [
        "close-2024-01-abc",
        "close-2024-02-abc",
    ]
    assert sorted(p.name for p in (data / "validation").iterdir()) == [
        "2024-01-input-x",
        "2024-02-input-x",
        "2024-03-input-x",
    ]
    assert len(pruned.removed) == 3 + 4 and pruned.freed_bytes == 7 * 1000
    assert (data / "warehouse.duckdb").read_text() == "keep me" and (data / "lake").is_dir()
    assert prune_run_outputs(settings).removed == []  # nothing more to do


def test_retention_counts_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("NRR_KEEP_RUNS", "4")
    monkeypatch.setenv("NRR_KEEP_VALIDATIONS", "7")
    settings = Settings()
    assert (settings.keep_runs, settings.keep_validations) == (4, 7)

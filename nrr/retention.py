"""Retention of what every run leaves behind: staging under `runs/` and validation runs
(results and Data Docs, several MB each) under `validation/`. The newest N of each are kept
(NRR_KEEP_RUNS, NRR_KEEP_VALIDATIONS); snapshots, the warehouse and the lake are never
touched."""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path

from nrr.settings import Settings

RUNS_DIR = "runs"
VALIDATION_DIR = "validation"


@dataclass
class Pruned:
    removed: list[Path] = field(default_factory=list)
    freed_bytes: int = 0


def _size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def prune_oldest(folder: Path, keep: int, pruned: Pruned) -> None:
    """Remove all but the `keep` most recently modified subdirectories of `folder`."""
    if not folder.is_dir():
        return
    entries = sorted(
        (p for p in folder.iterdir() if p.is_dir()), key=lambda p: p.stat().st_mtime, reverse=True
    )
    for old in entries[keep:]:
        size = _size(old)
        shutil.rmtree(old, ignore_errors=True)
        if not old.exists():
            pruned.removed.append(old)
            pruned.freed_bytes += size


def prune_run_outputs(settings: Settings) -> Pruned:
    """Keep the newest NRR_KEEP_RUNS staging dirs and NRR_KEEP_VALIDATIONS validation runs."""
    pruned = Pruned()
    prune_oldest(settings.data_dir / RUNS_DIR, settings.keep_runs, pruned)
    prune_oldest(settings.data_dir / VALIDATION_DIR, settings.keep_validations, pruned)
    return pruned

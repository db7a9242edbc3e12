"""What a close hands to the notifier: plain dataclasses, so flows and tests need no Slack."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from nrr.reporting.figures import Figures
from nrr.snapshots.restatement import RATIO_METRICS, Restatement

__all__ = ["RATIO_METRICS", "BlockedFailure", "CloseSummary", "Restatement"]


@dataclass
class BlockedFailure:
    """A critical data-quality failure that stopped a close from publishing."""

    expectation: str
    dataset: str
    severity: str = "critical"
    unexpected_count: int | None = None
    examples: list[str] = field(default_factory=list)
    reason: str = ""  # what must hold, in words (the expectation's description)


@dataclass
class CloseSummary:
    """Everything the summary, the alerts and the HTML report of one close show."""

    period: date
    snapshot_id: str
    snapshot_version: int
    figures: Figures
    cohort_matrix: list[tuple[date, int, float | None]]
    restatements: list[Restatement]
    data_quality_warnings: list[str]
    report_path: Path | None
    previous_period_figures: Figures | None = None

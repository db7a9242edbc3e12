"""What a close hands to the notifier: plain dataclasses, so flows and tests need no Slack."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from nrr.reporting.figures import Figures

RATIO_METRICS = frozenset(
    {
        "nrr",
        "grr",
        "nrr_annualised",
        "grr_annualised",
        "expansion_rate",
        "contraction_rate",
        "churn_rate",
        "logo_retention",
    }
)


@dataclass
class Restatement:
    """One published figure that moved between two snapshot versions of the same month."""

    as_of: date
    window_months: int
    dimension: str
    segment: str
    metric: str
    old: float | None
    new: float | None

    @property
    def delta(self) -> float | None:
        if self.old is None or self.new is None:
            return None
        return self.new - self.old

    @property
    def is_ratio(self) -> bool:
        """Ratios (NRR, GRR, rates) move in points; money figures do not."""
        return self.metric in RATIO_METRICS


@dataclass
class BlockedFailure:
    """A critical data-quality failure that stopped a close from publishing."""

    expectation: str
    dataset: str
    severity: str = "critical"
    unexpected_count: int | None = None
    examples: list[str] = field(default_factory=list)


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

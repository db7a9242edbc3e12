"""A restatement: one published figure that moved between two versions of a month.

Written by the snapshot store, read by the Slack summary, the HTML report and `nrr snapshots`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

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


def read_restatements(con, snapshot_id: str, period: date) -> list[Restatement]:
    """The figures a snapshot restated (table snapshot_restatements), if it has any."""
    import duckdb

    try:
        rows = con.execute(
            """select window_months, dimension, segment, metric, old_value, new_value
               from snapshot_restatements where snapshot_id = ?
               order by window_months, dimension, segment, metric""",
            [snapshot_id],
        ).fetchall()
    except duckdb.Error:
        return []
    return [Restatement(period, *row) for row in rows]

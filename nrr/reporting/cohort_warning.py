"""The cohort warning sign: are newer acquisition cohorts retaining worse than older ones?

Rule, evaluated at each age in `WARNING_AGES` (months 6 and 12): take the acquisition cohorts
that have reached that age by the closed month and have an NRR there, in cohort order. The
**newer** group is the last `GROUP_SIZE` (3) of them, the **older** group the 3 before. The
sign is raised when the plain mean NRR of the newer group is more than `WARNING_POINTS`
(2.0) percentage points below the older group's. With fewer than 6 such cohorts the age is
not evaluated. Means are unweighted so a single large cohort cannot hide the trend.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

WARNING_AGES = (6, 12)
GROUP_SIZE = 3
WARNING_POINTS = 2.0


@dataclass(frozen=True)
class CohortComparison:
    """Newer vs older cohorts at one age."""

    age_months: int
    newer_cohorts: tuple[date, ...]
    older_cohorts: tuple[date, ...]
    newer_mean: float
    older_mean: float

    @property
    def gap_points(self) -> float:
        """How many points the newer cohorts trail the older ones (negative: they lead)."""
        return (self.older_mean - self.newer_mean) * 100

    @property
    def warning(self) -> bool:
        return round(self.gap_points, 9) > WARNING_POINTS


def compare_cohorts(
    matrix: list[tuple[date, int, float | None]], period: date
) -> list[CohortComparison]:
    """One comparison per age in WARNING_AGES that has enough cohorts."""
    comparisons = []
    for age in WARNING_AGES:
        reached = sorted(
            (cohort, nrr)
            for cohort, cohort_age, nrr in matrix
            if cohort_age == age and nrr is not None and _add_months(cohort, age) <= period
        )
        if len(reached) < 2 * GROUP_SIZE:
            continue
        newer = reached[-GROUP_SIZE:]
        older = reached[-2 * GROUP_SIZE : -GROUP_SIZE]
        comparisons.append(
            CohortComparison(
                age_months=age,
                newer_cohorts=tuple(c for c, _ in newer),
                older_cohorts=tuple(c for c, _ in older),
                newer_mean=sum(v for _, v in newer) / GROUP_SIZE,
                older_mean=sum(v for _, v in older) / GROUP_SIZE,
            )
        )
    return comparisons


def _add_months(month: date, months: int) -> date:
    index = month.year * 12 + month.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)

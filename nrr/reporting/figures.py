"""The figures of a report, read from the warehouse once and rendered by every channel.

The console table, the JSON output, the Slack summary and the HTML report all render the
same `Figures`, so what leadership reads in Slack is what `nrr report` prints.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any

import duckdb

from nrr.errors import NrrError

WINDOW_COLUMNS = (
    "cohort_customers",
    "retained_customers",
    "start_mrr",
    "expansion",
    "contraction",
    "churn",
    "reactivated_mrr",
    "end_mrr",
    "nrr",
    "grr",
    "benchmark_band",
    "grr_band",
    "nrr_annualised",
    "expansion_rate",
    "contraction_rate",
    "churn_rate",
    "logo_retention",
)
CURVE_AGES = (3, 6, 12, 24)


@dataclass
class WindowFigure:
    """One window's retention figures (a row of retention_windows)."""

    window_months: int
    dimension: str
    segment: str
    cohort_customers: int
    retained_customers: int
    start_mrr: float
    expansion: float
    contraction: float
    churn: float
    reactivated_mrr: float
    end_mrr: float
    nrr: float | None
    grr: float | None
    benchmark_band: str | None
    grr_band: str | None
    nrr_annualised: float | None
    expansion_rate: float | None
    contraction_rate: float | None
    churn_rate: float | None
    logo_retention: float | None


@dataclass
class CohortCurve:
    """NRR and GRR of one acquisition cohort at the ages of the retention curve."""

    cohort_month: date
    customers: int
    start_mrr: float
    nrr: dict[int, float | None] = field(default_factory=dict)
    grr: dict[int, float | None] = field(default_factory=dict)


@dataclass
class Figures:
    """Everything a report of one month shows."""

    as_of: date
    currency: str
    reactivation_policy: str
    headline: WindowFigure
    previous_headline: WindowFigure | None
    monthly: WindowFigure
    quarterly: WindowFigure
    segments: list[WindowFigure]
    cohorts: list[CohortCurve]
    bridge: dict[str, float]
    churn_by_kind: dict[str, float]
    trend: list[dict[str, Any]]

    @property
    def waterfall(self) -> list[tuple[str, float, float]]:
        """(step, change, level) for the headline window: 100% - contraction - churn + expansion."""
        h = self.headline
        if h.nrr is None:
            return []
        c, ch, e = h.contraction_rate or 0.0, h.churn_rate or 0.0, h.expansion_rate or 0.0
        return [
            ("start", 1.0, 1.0),
            ("contraction", -c, 1.0 - c),
            ("churn", -ch, 1.0 - c - ch),
            ("expansion", e, 1.0 - c - ch + e),
            ("nrr", h.nrr, h.nrr),
        ]

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["as_of"] = self.as_of.strftime("%Y-%m")
        data["waterfall"] = [
            {"step": step, "change": change, "level": level}
            for step, change, level in self.waterfall
        ]
        for curve in data["cohorts"]:
            curve["cohort_month"] = curve["cohort_month"].strftime("%Y-%m")
        for point in data["trend"]:
            point["as_of"] = point["as_of"].strftime("%Y-%m")
        return data


def _window(
    con: duckdb.DuckDBPyConnection, table: str, as_of: date, months: int, dimension: str = "all"
) -> list[WindowFigure]:
    cols = ", ".join(WINDOW_COLUMNS)
    rows = con.execute(
        f"""select window_months, dimension, segment, {cols} from {table}
            where as_of = ? and window_months = ? and dimension = ?
            order by segment""",
        [as_of, months, dimension],
    ).fetchall()
    return [WindowFigure(*row) for row in rows]


def load_figures(
    con: duckdb.DuckDBPyConnection,
    as_of: date,
    *,
    currency: str,
    windows_table: str = "retention_windows",
    curves: int = 10,
) -> Figures:
    """Read the figures of month `as_of` from a warehouse (or a snapshot's windows table)."""
    as_of = as_of.replace(day=1)
    headline = _window(con, windows_table, as_of, 12)
    if not headline:
        last = con.execute(f"select max(as_of) from {windows_table}").fetchone()[0]
        hint = f"the latest computed month is {last:%Y-%m}" if last else "nothing is computed"
        raise NrrError(f"no figures for {as_of:%Y-%m} in the warehouse ({hint})")
    previous_month = date(as_of.year - (as_of.month == 1), (as_of.month - 2) % 12 + 1, 1)
    previous = _window(con, windows_table, previous_month, 12)
    segments = [
        row
        for row in con.execute(
            f"""select window_months, dimension, segment, {", ".join(WINDOW_COLUMNS)}
                from {windows_table}
                where as_of = ? and window_months = 12 and dimension <> 'all'
                order by dimension <> 'acv_band', dimension,
                    case segment when 'SMB' then 1 when 'Mid-Market' then 2
                                 when 'Enterprise' then 3 else 4 end, start_mrr desc""",
            [as_of],
        ).fetchall()
    ]
    policy = con.execute(
        f"select any_value(reactivation_policy) from {windows_table} where as_of = ?", [as_of]
    ).fetchone()[0]
    trend = [
        {"as_of": row[0], "nrr": row[1], "grr": row[2], "monthly_nrr": row[3]}
        for row in con.execute(
            f"""select t12.as_of, t12.nrr, t12.grr, m1.nrr
                from {windows_table} as t12
                left join {windows_table} as m1
                  on m1.as_of = t12.as_of and m1.window_months = 1 and m1.dimension = 'all'
                where t12.window_months = 12 and t12.dimension = 'all'
                  and t12.as_of <= ? and t12.as_of > ? - interval 24 month
                order by t12.as_of""",
            [as_of, as_of],
        ).fetchall()
    ]
    return Figures(
        as_of=as_of,
        currency=currency,
        reactivation_policy=policy,
        headline=headline[0],
        previous_headline=previous[0] if previous else None,
        monthly=_window(con, windows_table, as_of, 1)[0],
        quarterly=_window(con, windows_table, as_of, 3)[0],
        segments=[WindowFigure(*row) for row in segments],
        cohorts=_cohort_curves(con, as_of, curves),
        bridge=_bridge(con, as_of),
        churn_by_kind=_churn_by_kind(con, as_of),
        trend=trend,
    )


def _cohort_curves(con: duckdb.DuckDBPyConnection, as_of: date, limit: int) -> list[CohortCurve]:
    """Every third cohort back from the newest with a month-3 point, so that the curves
    reach month 24 while staying a short table."""
    ages = ", ".join(str(age) for age in CURVE_AGES)
    rows = con.execute(
        f"""
        with eligible as (
            select distinct cohort_month from cohort_retention
            where cohort_month <= ? - interval 3 month
        ),
        recent as (
            select cohort_month from (
                select cohort_month, row_number() over (order by cohort_month desc) - 1 as k
                from eligible
            ) where k % 3 = 0
            order by cohort_month desc limit {int(limit)}
        )
        select c.cohort_month, c.customers, c.start_mrr, c.age_months, c.nrr, c.grr
        from cohort_retention as c inner join recent using (cohort_month)
        where c.age_months in ({ages})
        order by c.cohort_month, c.age_months
        """,
        [as_of],
    ).fetchall()
    curves: dict[date, CohortCurve] = {}
    for cohort_month, customers, start_mrr, age, nrr, grr in rows:
        curve = curves.setdefault(cohort_month, CohortCurve(cohort_month, customers, start_mrr))
        curve.nrr[age] = nrr
        curve.grr[age] = grr
    return list(curves.values())


def _bridge(con: duckdb.DuckDBPyConnection, as_of: date) -> dict[str, float]:
    row = con.execute(
        """select opening_mrr, new, reactivation, expansion, contraction, churn,
                  fx_adjustment, closing_mrr
           from mrr_bridge where month = ? and dimension = 'all'""",
        [as_of],
    ).fetchone()
    keys = (
        "opening_mrr",
        "new",
        "reactivation",
        "expansion",
        "contraction",
        "churn",
        "fx_adjustment",
        "closing_mrr",
    )
    return dict(zip(keys, row or (0.0,) * len(keys), strict=True))


def _churn_by_kind(con: duckdb.DuckDBPyConnection, as_of: date) -> dict[str, float]:
    """Churned MRR of the trailing twelve months by kind (voluntary / involuntary / unknown)."""
    rows = con.execute(
        """select coalesce(churn_kind, 'unknown'), sum(amount) from mrr_movements
           where movement = 'churn' and month > ? - interval 12 month and month <= ?
           group by all""",
        [as_of, as_of],
    ).fetchall()
    result = {"voluntary": 0.0, "involuntary": 0.0, "unknown": 0.0}
    result.update({kind: float(amount) for kind, amount in rows})
    return result

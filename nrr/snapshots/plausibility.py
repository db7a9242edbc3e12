"""The plausibility gate: no implausible figure reaches leadership without a human's yes.

Every publication (a month's first close, a re-close, a backfilled month) compares its
customers, closing MRR and trailing-12-month cohort with the month's previous version and
with the previous month. A collapse or a jump beyond the configured bounds blocks it, with
the figures side by side, unless the user confirmed (`nrr close --confirm-implausible`); a
confirmation is recorded on the snapshot. A month before the ledger's first revenue is
refused outright: there is nothing to close.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import date
from pathlib import Path

import duckdb

from nrr.errors import NrrError
from nrr.settings import Settings
from nrr.snapshots.month_figures import WINDOWS_FILE, MonthMeta

FIGURES = {"customers": "customers", "total_mrr": "closing MRR", "cohort": "12-month cohort"}
COHORT_WINDOW = 12


class ImplausibleClose(NrrError):
    """A publication's figures moved beyond the plausibility bounds; nothing was published."""

    def __init__(self, message: str, jumps: list[Jump]):
        self.jumps = jumps
        super().__init__(message)


@dataclass(frozen=True)
class Jump:
    """One figure that moved too much against one baseline."""

    figure: str  # customers / total_mrr / cohort
    baseline: str  # e.g. "2024-06-v1" (previous version) or "2024-05-v2" (previous month)
    old: float
    new: float

    @property
    def change(self) -> float | None:
        return (self.new - self.old) / self.old if self.old else None

    def side_by_side(self) -> str:
        """'customers 0 (now) vs 294 (2024-06-v1), -100%'."""
        change = f", {self.change:+.0%}" if self.change is not None else ""
        return (
            f"{FIGURES[self.figure]} {_number(self.new)} now vs {_number(self.old)} in "
            f"{self.baseline}{change}"
        )


def _number(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}"


def _previous_month(period: date) -> date:
    return date(period.year - (period.month == 1), (period.month - 2) % 12 + 1, 1)


def staged_figures(meta: MonthMeta, staged: Path) -> dict[str, float | None]:
    """The figures of the month about to be published."""
    escaped = str(Path(staged) / WINDOWS_FILE).replace("'", "''")
    cohort = (
        duckdb.connect()
        .execute(
            f"""select max(cohort_customers) from read_parquet('{escaped}')
            where window_months = {COHORT_WINDOW} and dimension = 'all'"""
        )
        .fetchone()[0]
    )
    return {
        "customers": _float(meta.stats.get("customers")),
        "total_mrr": _float(meta.stats.get("total_mrr")),
        "cohort": _float(cohort),
    }


def _float(value: object) -> float | None:
    return None if value is None else float(value)  # type: ignore[arg-type]


def published_figures(
    con: duckdb.DuckDBPyConnection, period: date
) -> tuple[str, dict[str, float | None]] | None:
    """(snapshot id, figures) of the latest published version of `period`, if any."""
    row = con.execute(
        "select snapshot_id, stats from snapshots where period = ? order by version desc limit 1",
        [period],
    ).fetchone()
    if row is None:
        return None
    stats = json.loads(row[1]) if row[1] else {}
    cohort = con.execute(
        f"""select max(cohort_customers) from snapshot_metrics
            where snapshot_id = ? and window_months = {COHORT_WINDOW} and dimension = 'all'""",
        [row[0]],
    ).fetchone()[0]
    return str(row[0]), {
        "customers": _float(stats.get("customers")),
        "total_mrr": _float(stats.get("total_mrr")),
        "cohort": _float(cohort),
    }


def refuse_before_first_revenue(meta: MonthMeta) -> None:
    """A month before any revenue has nothing to close (it would publish an empty month)."""
    if "first_revenue" not in meta.stats:  # staged by an older version: nothing to judge by
        return
    first = meta.stats["first_revenue"]
    if first is None:
        raise NrrError(
            f"cannot close {meta.period:%Y-%m}: the ledger has no revenue in or before that "
            "month; there is nothing to publish"
        )
    first_month = date.fromisoformat(str(first)[:10]).replace(day=1)
    if meta.period < first_month:
        raise NrrError(
            f"cannot close {meta.period:%Y-%m}: it is before the first revenue in the ledger "
            f"({first_month:%Y-%m}); there is nothing to publish"
        )


def implausible_jumps(
    con: duckdb.DuckDBPyConnection | None, settings: Settings, meta: MonthMeta, staged: Path
) -> list[Jump]:
    """Every figure that moved beyond the bounds against the month's previous version or
    the previous month (`con`: the warehouse, None when there is none yet)."""
    if con is None or not _has_snapshots(con):
        return []
    new = staged_figures(meta, staged)
    baselines = [published_figures(con, meta.period),
                 published_figures(con, _previous_month(meta.period))]  # fmt: skip
    jumps: list[Jump] = []
    for baseline in baselines:
        if baseline is None:
            continue
        label, old = baseline
        for figure in FIGURES:
            before, now = old[figure], new[figure]
            if before is None or now is None or before <= 0:
                continue
            # too small a base (in customers): a handful of customers may well double
            base = before if figure == "cohort" else old["customers"] or 0
            if base < settings.plausibility_min_customers:
                continue
            low = before * (1 - settings.plausibility_drop_tolerance)
            high = before * (1 + settings.plausibility_growth_tolerance)
            if now < low or now > high:
                jumps.append(Jump(figure, label, before, now))
    return jumps


def _has_snapshots(con: duckdb.DuckDBPyConnection) -> bool:
    """Both tables a baseline is read from exist (not before the first publication)."""
    found = con.execute(
        "select count(*) from duckdb_tables() where table_name in ('snapshots', 'snapshot_metrics')"
    ).fetchone()[0]
    return found == 2


def check_publication(
    con: duckdb.DuckDBPyConnection | None,
    settings: Settings,
    meta: MonthMeta,
    staged: Path,
    *,
    confirmed: bool,
) -> list[Jump]:
    """Refuse a month before the first revenue; block implausible figures unless confirmed.
    Returns the jumps the user confirmed (to record on the snapshot)."""
    refuse_before_first_revenue(meta)
    jumps = implausible_jumps(con, settings, meta, staged)
    if jumps and not confirmed:
        figures = "; ".join(jump.side_by_side() for jump in jumps)
        raise ImplausibleClose(
            f"{meta.period:%Y-%m} not published: implausible figures ({figures}); if they are "
            "right, re-run with --confirm-implausible (recorded on the snapshot)",
            jumps,
        )
    return jumps


def check_staged(settings: Settings, meta: MonthMeta, staged: Path, *, confirmed: bool) -> None:
    """The gate before a close touches the warehouse (read-only look at its snapshots)."""
    if not settings.warehouse_path.is_file():
        check_publication(None, settings, meta, staged, confirmed=confirmed)
        return
    from nrr.warehouse import locked_read

    with locked_read(settings) as con:  # another close of this process may be writing
        check_publication(con, settings, meta, staged, confirmed=confirmed)


def confirmation_record(jumps: list[Jump]) -> list[dict[str, object]]:
    """What a snapshot stores about the implausible figures the user confirmed."""
    return [asdict(jump) for jump in jumps]

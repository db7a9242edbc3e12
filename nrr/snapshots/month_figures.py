"""A month's figures, staged as Parquet files before they are published as a snapshot.

Both the monthly close (from the warehouse it just computed) and the backfill (one
in-memory engine run per month, possibly on another machine) produce the same staged
directory; publishing then reads only these files. The directory appears atomically, so a
publisher never reads half a month.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path

import duckdb

from nrr.storage import atomic_directory

WINDOWS_FILE = "windows.parquet"
COHORTS_FILE = "cohorts.parquet"
BRIDGE_FILE = "bridge.parquet"
META_FILE = "meta.json"


@dataclass
class MonthMeta:
    """What the snapshot row records besides the figures."""

    period: date
    input_fingerprint: str
    code_version: str
    definitions: dict[str, object]
    source: str
    stats: dict[str, object] = field(default_factory=dict)

    def to_json(self) -> str:
        data = asdict(self)
        data["period"] = self.period.isoformat()
        return json.dumps(data, indent=2, sort_keys=True, default=str)

    @classmethod
    def from_json(cls, text: str) -> MonthMeta:
        data = json.loads(text)
        data["period"] = date.fromisoformat(data["period"])
        return cls(**data)


def _copy(con: duckdb.DuckDBPyConnection, sql: str, params: list[object], target: Path) -> None:
    escaped = str(target).replace("'", "''")
    con.execute(f"copy ({sql}) to '{escaped}' (format parquet)", params)


def stage_month(con: duckdb.DuckDBPyConnection, meta: MonthMeta, target: Path) -> Path:
    """Export the figures of `meta.period` from the engine tables in `con` into `target`."""
    period = meta.period
    with atomic_directory(target) as staging:
        _copy(con, "select * from retention_windows where as_of = ?", [period],
              staging / WINDOWS_FILE)  # fmt: skip
        _copy(
            con,
            """select * from cohort_retention
               where cohort_month + to_months(age_months) <= ?""",
            [period],
            staging / COHORTS_FILE,
        )
        _copy(con, "select * from mrr_bridge where month = ?", [period], staging / BRIDGE_FILE)
        (staging / META_FILE).write_text(meta.to_json())
    return target


def month_stats(con: duckdb.DuckDBPyConnection, period: date) -> dict[str, object]:
    """Closing figures of the month, kept for the next close's volume checks."""
    customers, total = con.execute(
        "select count(*), coalesce(sum(mrr), 0) from customer_mrr_monthly where month = ?",
        [period],
    ).fetchone()
    ledger_rows, first_revenue = con.execute(
        "select count(*), min(start_date) filter (where mrr > 0) from raw_ledger"
    ).fetchone()
    return {
        "customers": customers,
        "total_mrr": float(total),
        "ledger_rows": ledger_rows,
        # the plausibility gate refuses months before it (nrr/snapshots/plausibility.py)
        "first_revenue": first_revenue.isoformat() if first_revenue else None,
    }


def read_meta(directory: Path) -> MonthMeta:
    return MonthMeta.from_json((Path(directory) / META_FILE).read_text())

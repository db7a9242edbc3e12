"""Read the snapshot store for people and scripts (`nrr snapshots`)."""

from __future__ import annotations

from datetime import date

from nrr.settings import Settings
from nrr.warehouse import read_warehouse, table_exists


def list_snapshots(settings: Settings, period: date | None = None) -> list[dict[str, object]]:
    """Every version (newest first per month) with its headline and its restatements."""
    if not settings.warehouse_path.is_file():
        return []
    con = read_warehouse(settings)
    try:
        if not table_exists(con, "snapshots"):
            return []
        where, args = ("where s.period = ?", [period]) if period else ("", [])
        cursor = con.execute(
            f"""
            select s.snapshot_id, strftime(s.period, '%Y-%m') as period, s.version,
                   strftime(s.created_at, '%Y-%m-%d %H:%M:%S') as created_at, s.run_id, s.source,
                   s.input_fingerprint, s.code_version, s.status, s.previous_snapshot_id,
                   s.restatement_count, m.nrr, m.grr
            from snapshots s
            left join snapshot_metrics m
              on m.snapshot_id = s.snapshot_id and m.window_months = 12
             and m.dimension = 'all' and m.segment = 'all'
            {where}
            order by s.period desc, s.version desc
            """,
            args,
        )
        names = [d[0] for d in cursor.description]
        rows = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
        for row in rows:
            cursor = con.execute(
                """select window_months, dimension, segment, metric, old_value, new_value, delta
                   from snapshot_restatements where snapshot_id = ?
                   order by window_months desc, dimension, segment, metric""",
                [row["snapshot_id"]],
            )
            names = [d[0] for d in cursor.description]
            row["restatements"] = [dict(zip(names, r, strict=True)) for r in cursor.fetchall()]
        return rows
    finally:
        con.close()

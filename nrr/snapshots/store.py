"""Immutable monthly snapshots in the warehouse: publish, compare, restate, list.

Published numbers never change. Rows are only ever inserted, one transaction per version:
a crash mid-write leaves the previous versions exactly as they were. A re-run with the same
inputs and code writes nothing; one whose figures moved writes version n+1 and records each
figure that moved (a restatement).
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb

from nrr.locking import warehouse_lock
from nrr.settings import Settings
from nrr.snapshots.month_figures import (
    BRIDGE_FILE,
    COHORTS_FILE,
    WINDOWS_FILE,
    MonthMeta,
    read_meta,
)
from nrr.snapshots.restatement import Restatement
from nrr.warehouse import locked_read

# What identifies a window figure; every other numeric column of retention_windows is a
# figure that a new version restates when it moves (read from the staged file's schema, so a
# figure added to the model is restated without anyone updating a list here).
WINDOW_KEYS = ("snapshot_id", "as_of", "window_months", "dimension", "segment")
NUMERIC_TYPES = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "FLOAT", "DOUBLE",
                 "DECIMAL", "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT")  # fmt: skip
TOLERANCE = 1e-9

SCHEMA = """
create table if not exists snapshots (
    snapshot_id varchar primary key,
    period date not null,
    version integer not null,
    created_at timestamp not null,
    run_id varchar not null,
    source varchar,
    input_fingerprint varchar not null,
    code_version varchar not null,
    status varchar not null,
    definitions json,
    stats json,
    previous_snapshot_id varchar,
    restatement_count integer,
    unique (period, version)
);
create table if not exists snapshot_restatements (
    snapshot_id varchar not null,
    previous_snapshot_id varchar not null,
    period date not null,
    window_months integer,
    dimension varchar,
    segment varchar,
    metric varchar,
    old_value double,
    new_value double,
    delta double
);
create table if not exists snapshot_followups (
    snapshot_id varchar primary key,
    period date not null,
    version integer not null,
    notify boolean not null,
    created_at timestamp not null,
    completed_at timestamp
);
create table if not exists snapshot_checks (
    checked_at timestamp not null,
    run_id varchar not null,
    period date not null,
    input_fingerprint varchar not null,
    code_version varchar not null,
    snapshot_id varchar not null,
    outcome varchar not null
);
"""
FIGURE_TABLES = {
    "snapshot_metrics": WINDOWS_FILE,
    "snapshot_cohort_retention": COHORTS_FILE,
    "snapshot_mrr_bridge": BRIDGE_FILE,
}


@dataclass
class PublishResult:
    """What publishing a month did: published (v1), restated (v2+), unchanged or skipped."""

    period: date
    outcome: str
    snapshot_id: str | None
    version: int | None
    previous_snapshot_id: str | None = None
    restatements: list[Restatement] = field(default_factory=list)
    message: str = ""

    @property
    def wrote_snapshot(self) -> bool:
        return self.outcome in ("published", "restated")


def ensure_schema(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(SCHEMA)


def _ensure_figure_table(con: duckdb.DuckDBPyConnection, table: str, parquet: Path) -> None:
    """Create the figures table from the staged file's columns; add columns new code brings."""
    source = _parquet(parquet)
    con.execute(
        f"create table if not exists {table} as "
        f"select ''::varchar as snapshot_id, * from {source} limit 0"
    )
    existing = {row[0] for row in con.execute(f"describe {table}").fetchall()}
    for name, kind, *_ in con.execute(f"describe select * from {source}").fetchall():
        if name not in existing:
            con.execute(f'alter table {table} add column "{name}" {kind}')


def _parquet(path: Path) -> str:
    return "read_parquet('" + str(path).replace("'", "''") + "')"


def latest_snapshot(con: duckdb.DuckDBPyConnection, period: date) -> dict[str, object] | None:
    cursor = con.execute(
        "select * from snapshots where period = ? order by version desc limit 1", [period]
    )
    row = cursor.fetchone()
    if row is None:
        return None
    return dict(zip([d[0] for d in cursor.description], row, strict=True))


def already_checked(
    con: duckdb.DuckDBPyConnection, period: date, fingerprint: str, code: str
) -> str | None:
    """The snapshot these exact inputs and code already produced or confirmed, if any."""
    row = con.execute(
        """
        select snapshot_id from (
            select snapshot_id, version as rank from snapshots
            where period = ? and input_fingerprint = ? and code_version = ?
            union all
            select c.snapshot_id, s.version from snapshot_checks c
            join snapshots s using (snapshot_id)
            where c.period = ? and c.input_fingerprint = ? and c.code_version = ?
        ) order by rank desc limit 1
        """,
        [period, fingerprint, code, period, fingerprint, code],
    ).fetchone()
    return row[0] if row else None


def restated_metrics(con: duckdb.DuckDBPyConnection, windows: Path) -> tuple[str, ...]:
    """The figures of a staged windows file: its numeric columns other than the keys."""
    columns = con.execute(f"describe select * from {_parquet(windows)}").fetchall()
    return tuple(
        name
        for name, kind, *_ in columns
        if name not in WINDOW_KEYS and kind.split("(")[0].upper() in NUMERIC_TYPES
    )


def _restatements(
    con: duckdb.DuckDBPyConnection, previous_id: str, windows: Path, period: date
) -> list[Restatement]:
    """Every published window figure that differs between the previous version and now."""
    pairs = ", ".join(
        f"struct_pack(metric := '{m}', old := old.{quoted}::double, new := new.{quoted}::double)"
        for m in restated_metrics(con, windows)
        for quoted in ['"' + m.replace('"', '""') + '"']
    )
    rows = con.execute(
        f"""
        with old as (select * from snapshot_metrics where snapshot_id = ?),
        new as (select * from {_parquet(windows)}),
        joined as (
            select
                coalesce(new.window_months, old.window_months) as window_months,
                coalesce(new.dimension, old.dimension) as dimension,
                coalesce(new.segment, old.segment) as segment,
                unnest([{pairs}]) as pair
            from old full outer join new
              on old.window_months = new.window_months
             and old.dimension = new.dimension and old.segment = new.segment
        )
        select window_months, dimension, segment, pair.metric, pair.old, pair.new
        from joined
        where (pair.old is null) <> (pair.new is null) or abs(pair.old - pair.new) > {TOLERANCE}
        order by window_months desc, dimension <> 'all', dimension, segment, pair.metric
        """,
        [previous_id],
    ).fetchall()
    return [Restatement(period, *row) for row in rows]


def _figures_differ(con: duckdb.DuckDBPyConnection, previous_id: str, staged: Path) -> bool:
    """Do the cohort matrix or the bridge differ (the windows are compared figure by figure)?"""
    for table, file in (("snapshot_cohort_retention", COHORTS_FILE),
                        ("snapshot_mrr_bridge", BRIDGE_FILE)):  # fmt: skip
        source = _parquet(staged / file)
        differing = con.execute(
            f"""
            select count(*) from (
                (select * exclude (snapshot_id) from {table} where snapshot_id = ?
                 except all select * from {source})
                union all
                (select * from {source}
                 except all select * exclude (snapshot_id) from {table} where snapshot_id = ?)
            )
            """,
            [previous_id, previous_id],
        ).fetchone()[0]
        if differing:
            return True
    return False


def publish_staged_month(
    settings: Settings,
    staged: Path,
    *,
    run_id: str | None = None,
    confirm_implausible: bool = False,
    follow_up: bool | None = None,
) -> PublishResult:
    """Publish the staged figures of one month as its next snapshot version, if they moved.

    Implausible figures (nrr/snapshots/plausibility.py) raise ImplausibleClose unless
    `confirm_implausible`; then the confirmation is recorded in the snapshot's stats.
    `follow_up` (True: report and Slack messages, False: report only) records, in the same
    transaction, that the new version still needs them (nrr/followups.py)."""
    staged = Path(staged)
    meta = read_meta(staged)
    run_id = run_id or uuid.uuid4().hex[:12]
    with warehouse_lock(settings):
        con = duckdb.connect(str(settings.warehouse_path))
        try:
            return _publish(con, meta, staged, run_id, settings, confirm_implausible, follow_up)
        finally:
            con.close()


def _publish(
    con: duckdb.DuckDBPyConnection,
    meta: MonthMeta,
    staged: Path,
    run_id: str,
    settings: Settings | None = None,
    confirm_implausible: bool = False,
    follow_up: bool | None = None,
) -> PublishResult:
    ensure_schema(con)
    period = meta.period
    known = already_checked(con, period, meta.input_fingerprint, meta.code_version)
    if known:
        version = con.execute("select version from snapshots where snapshot_id = ?",
                              [known]).fetchone()[0]  # fmt: skip
        return PublishResult(period, "unchanged", known, version,
                             message=f"{period:%Y-%m}: inputs and code unchanged since {known}; "
                             "nothing written")  # fmt: skip
    if settings is not None:
        from nrr.snapshots.plausibility import check_publication, confirmation_record

        jumps = check_publication(con, settings, meta, staged, confirmed=confirm_implausible)
        if jumps:
            meta.stats["plausibility_confirmed"] = confirmation_record(jumps)
    for table, file in FIGURE_TABLES.items():
        _ensure_figure_table(con, table, staged / file)
    latest = latest_snapshot(con, period)
    now = datetime.now(UTC).replace(tzinfo=None)
    restated: list[Restatement] = []
    if latest:
        restated = _restatements(con, str(latest["snapshot_id"]), staged / WINDOWS_FILE, period)
        if not restated and not _figures_differ(con, str(latest["snapshot_id"]), staged):
            con.execute(
                "insert into snapshot_checks values (?, ?, ?, ?, ?, ?, 'unchanged')",
                [now, run_id, period, meta.input_fingerprint, meta.code_version,
                 latest["snapshot_id"]],
            )  # fmt: skip
            return PublishResult(
                period, "unchanged", str(latest["snapshot_id"]), int(latest["version"]),
                message=f"{period:%Y-%m}: inputs changed but no published figure moved; "
                f"{latest['snapshot_id']} stands",
            )  # fmt: skip
    version = int(latest["version"]) + 1 if latest else 1
    snapshot_id = f"{period:%Y-%m}-v{version}"
    previous_id = str(latest["snapshot_id"]) if latest else None
    con.execute("begin transaction")
    try:
        con.execute(
            "insert into snapshots values (?, ?, ?, ?, ?, ?, ?, ?, 'published', ?, ?, ?, ?)",
            [snapshot_id, period, version, now, run_id, meta.source, meta.input_fingerprint,
             meta.code_version, json.dumps(meta.definitions, default=str),
             json.dumps(meta.stats, default=str), previous_id, len(restated)],
        )  # fmt: skip
        for table, file in FIGURE_TABLES.items():
            con.execute(
                f"insert into {table} by name select ? as snapshot_id, * "
                f"from {_parquet(staged / file)}",
                [snapshot_id],
            )
        if restated:
            con.executemany(
                "insert into snapshot_restatements values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [[snapshot_id, previous_id, period, r.window_months, r.dimension, r.segment,
                  r.metric, r.old, r.new, r.delta] for r in restated],
            )  # fmt: skip
        if follow_up is not None:
            con.execute(
                "insert into snapshot_followups values (?, ?, ?, ?, ?, null)",
                [snapshot_id, period, version, follow_up, now],
            )
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    outcome = "restated" if latest else "published"
    message = (
        f"{period:%Y-%m}: published {snapshot_id}"
        if not latest
        else f"{period:%Y-%m}: published {snapshot_id}, restating {len(restated)} figure(s) "
        f"of {previous_id}"
    )
    return PublishResult(period, outcome, snapshot_id, version, previous_id, restated, message)


def published_fingerprints(settings: Settings) -> dict[date, set[tuple[str, str]]]:
    """(fingerprint, code) pairs each month already has a snapshot for (for skipping)."""
    if not settings.warehouse_path.is_file():
        return {}
    # under the writers' lock: another close in this process may be writing the file
    with locked_read(settings) as con:
        if not _has_table(con, "snapshots"):
            return {}
        rows = con.execute(
            """select period, input_fingerprint, code_version from snapshots
               union select period, input_fingerprint, code_version from snapshot_checks"""
            if _has_table(con, "snapshot_checks")
            else "select period, input_fingerprint, code_version from snapshots"
        ).fetchall()
    result: dict[date, set[tuple[str, str]]] = {}
    for period, fingerprint, code in rows:
        result.setdefault(period, set()).add((fingerprint, code))
    return result


def latest_stats(settings: Settings, before: date) -> dict[str, object] | None:
    """The stats of the latest published month before `before` (volume checks baseline)."""
    if not settings.warehouse_path.is_file():
        return None
    with locked_read(settings) as con:  # (see published_fingerprints)
        if not _has_table(con, "snapshots"):
            return None
        row = con.execute(
            """select period, stats from snapshots where period < ?
               order by period desc, version desc limit 1""",
            [before],
        ).fetchone()
    if not row:
        return None
    stats = json.loads(row[1]) if row[1] else {}
    return {"period": row[0], **stats}


def _has_table(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    return bool(
        con.execute("select count(*) from duckdb_tables() where table_name = ?", [name]).fetchone()[
            0
        ]
    )

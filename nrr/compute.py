"""`nrr compute`: ledger (or the Stripe lake) -> validated rows -> metric models -> warehouse.

Kept free of Prefect so the command starts in a second; the flows call the same function.
"""

from __future__ import annotations

import os
import socket
import time
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb

from metrics.engine import (
    MART_TABLES,
    BuildResult,
    EngineParams,
    build,
    create_relation,
)
from nrr.errors import BadRow, NrrError
from nrr.relations import persistent_relations
from nrr.settings import Settings
from nrr.snapshots.fingerprint import code_version, input_fingerprint
from nrr.sources.fx import load_fx_rates
from nrr.sources.ledger import LedgerLoad, LedgerRules, load_ledger, load_ledger_arrow
from nrr.warehouse import attach_warehouse, scratch_connection

if TYPE_CHECKING:
    from nrr.snapshots.month_figures import MonthMeta

# The staging helpers (month figures, atomic directories: pyarrow and fsspec) are imported
# by the functions that stage; `nrr compute` does not, and starts faster without them.


@dataclass
class ComputeResult:
    """What one compute produced and how long it took."""

    warehouse: Path
    as_of: date
    source: str
    ledger_rows: int
    build: BuildResult
    seconds: float
    skipped_rows: tuple[BadRow, ...] = ()


def engine_params(settings: Settings, as_of: date) -> EngineParams:
    return EngineParams(
        as_of=as_of,
        reporting_currency=settings.reporting_currency,
        reactivation_policy=settings.reactivation_policy,
        acv_smb_upper=settings.acv_smb_upper,
        acv_enterprise_lower=settings.acv_enterprise_lower,
        windows=tuple(settings.window_months),
        segment_dimensions=tuple(settings.segment_dimensions)
        if settings.segment_dimensions is not None
        else None,
    )


def load_inputs(
    con: duckdb.DuckDBPyConnection,
    settings: Settings,
    ledger: Path | None,
    *,
    skip_bad_rows: bool = False,
) -> LedgerLoad:
    """Load and validate the ledger (or the Stripe lake's ledger) and the FX rates into `con`."""
    rules = LedgerRules.from_settings(settings)
    if ledger is not None:
        loaded = load_ledger(
            con,
            Path(ledger),
            settings.reporting_currency,
            skip_bad_rows=skip_bad_rows,
            rules=rules,
        )
    else:
        loaded = load_ledger_arrow(
            con,
            stripe_ledger(settings),
            source=f"Stripe lake {settings.lake_dir}",
            reporting_currency=settings.reporting_currency,
            skip_bad_rows=skip_bad_rows,
            # two identical subscription items are two real rows, not a file mistake
            rules=replace(rules, allow_duplicate_rows=True, segment_columns=None),
        )
    load_fx_rates(con, settings.fx_rates_path, settings.inline_fx_rates)
    return loaded


def stripe_ledger(settings: Settings):  # -> pyarrow.Table
    """The revenue ledger derived from the extracted Stripe lake under the data directory."""
    try:
        from nrr.stripe_source.ledger import ledger_from_lake
    except ImportError as exc:  # pragma: no cover - only while the Stripe source is absent
        raise NrrError("no --ledger given and this build has no Stripe source") from exc
    return ledger_from_lake(settings)


def compute(
    settings: Settings,
    as_of: date,
    ledger: Path | None = None,
    *,
    skip_bad_rows: bool = False,
) -> ComputeResult:
    """Build the warehouse tables for months up to `as_of` from the ledger or Stripe lake."""
    started = time.perf_counter()
    con = scratch_connection(settings)
    try:
        loaded = load_inputs(con, settings, ledger, skip_bad_rows=skip_bad_rows)
        warehouse = attach_warehouse(con, settings)
        result = build(con, engine_params(settings, as_of))
    finally:
        con.close()
    return ComputeResult(
        warehouse=warehouse,
        as_of=as_of.replace(day=1),
        source=loaded.source,
        ledger_rows=loaded.rows,
        build=result,
        seconds=time.perf_counter() - started,
        skipped_rows=loaded.skipped_rows,
    )


@dataclass
class StagedMonth:
    """A month's figures staged for publishing, and how they were computed."""

    period: date
    directory: Path
    meta: MonthMeta
    seconds: float


def _stage(
    con: duckdb.DuckDBPyConnection,
    settings: Settings,
    period: date,
    staged_dir: Path,
    source: str,
    extra_stats: dict[str, object] | None = None,
) -> MonthMeta:
    from nrr.snapshots.month_figures import MonthMeta, month_stats, stage_month

    definitions = settings.metric_definitions()
    meta = MonthMeta(
        period=period,
        input_fingerprint=input_fingerprint(con, period, definitions),
        code_version=code_version(),
        definitions=definitions,
        source=source,
        stats={
            **month_stats(con, period),
            **(extra_stats or {}),
            # which machine and process computed it (backfill months run on Dask workers)
            "computed_by": f"{socket.gethostname()}:{os.getpid()}",
        },
    )
    stage_month(con, meta, staged_dir)
    return meta


def compute_close(
    settings: Settings, period: date, ledger: Path | None, staged_dir: Path
) -> tuple[ComputeResult, StagedMonth]:
    """The close's compute: rebuild the warehouse up to `period`, then stage its figures."""
    started = time.perf_counter()
    period = period.replace(day=1)
    con = scratch_connection(settings)
    try:
        loaded = load_inputs(con, settings, ledger)
        warehouse = attach_warehouse(con, settings)
        result = build(con, engine_params(settings, period))
        meta = _stage(con, settings, period, staged_dir, loaded.source)
    finally:
        con.close()
    seconds = time.perf_counter() - started
    computed = ComputeResult(warehouse, period, loaded.source, loaded.rows, result, seconds)
    return computed, StagedMonth(period, staged_dir, meta, seconds)


def compute_month(
    settings: Settings, period: date, ledger: Path | None, staged_dir: Path
) -> StagedMonth:
    """One month of a backfill: the engine in memory (no shared state), figures staged."""
    period = period.replace(day=1)
    return compute_months(settings, [period], ledger, {period: staged_dir})[0]


def compute_months(
    settings: Settings, months: list[date], ledger: Path | None, staged_dirs: dict[date, Path]
) -> list[StagedMonth]:
    """Several months of a backfill from one engine run, each month's figures staged apart.

    A month's figures only use month ends up to that month, so one run up to the latest
    month of the chunk gives every earlier month exactly what a run up to it would (the
    backfill tests check a backfilled month against that month's own close). Chunks are
    independent of each other: they run in parallel threads or on Dask workers.
    """
    started = time.perf_counter()
    months = sorted(m.replace(day=1) for m in months)
    con = scratch_connection(settings)
    staged: list[StagedMonth] = []
    try:
        loaded = load_inputs(con, settings, ledger)
        build(con, engine_params(settings, months[-1]))
        for month in months:
            meta = _stage(con, settings, month, staged_dirs[month], loaded.source)
            staged.append(StagedMonth(month, staged_dirs[month], meta, 0.0))
    finally:
        con.close()
    seconds = time.perf_counter() - started
    for month in staged:
        month.seconds = seconds / len(staged)
    return staged


def month_fingerprints(
    settings: Settings, ledger: Path | None, months: list[date]
) -> dict[date, str]:
    """Input fingerprints of many months from one read of the ledger (to skip unchanged ones)."""
    con = scratch_connection(settings)
    try:
        load_inputs(con, settings, ledger)
        definitions = settings.metric_definitions()
        return {m: input_fingerprint(con, m, definitions) for m in months}
    finally:
        con.close()


MART_FILES_DIR = "marts"
MONTH_FILES_DIR = "month"
VIEW_SUFFIX = ".view.sql"  # a staged mart that is a view: its SQL, recreated over the tables


def compute_close_files(
    settings: Settings,
    period: date,
    ledger: Path | None,
    run_dir: Path,
    *,
    extra_stats: dict[str, object] | None = None,
) -> StagedMonth:
    """The close's compute, kept off the warehouse until its outputs pass validation.

    The engine runs in memory; every mart is written to `run_dir/marts/*.parquet` and the
    month's figures to `run_dir/month/`. `load_marts` then swaps them into the warehouse.
    """
    from nrr.storage import atomic_directory

    started = time.perf_counter()
    period = period.replace(day=1)
    con = scratch_connection(settings)
    try:
        loaded = load_inputs(con, settings, ledger)
        built = build(con, engine_params(settings, period))
        with atomic_directory(run_dir / MART_FILES_DIR) as marts:
            for name in MART_TABLES:
                if name in built.views:
                    (marts / f"{name}{VIEW_SUFFIX}").write_text(built.views[name])
                    continue
                target = str(marts / f"{name}.parquet").replace("'", "''")
                con.execute(f"copy (select * from {name}) to '{target}' (format parquet)")
        meta = _stage(con, settings, period, run_dir / MONTH_FILES_DIR, loaded.source,
                      extra_stats)  # fmt: skip
    finally:
        con.close()
    return StagedMonth(period, run_dir / MONTH_FILES_DIR, meta, time.perf_counter() - started)


def open_marts(marts_dir: Path) -> duckdb.DuckDBPyConnection:
    """An in-memory connection with a view per staged mart (to validate before loading)."""
    con = duckdb.connect(":memory:")
    for parquet in sorted(Path(marts_dir).glob("*.parquet")):
        escaped = str(parquet).replace("'", "''")
        con.execute(f"create view {parquet.stem} as select * from read_parquet('{escaped}')")
    _create_views(con, Path(marts_dir))
    return con


def _create_views(
    con: duckdb.DuckDBPyConnection, marts_dir: Path, existing: dict[str, str] | None = None
) -> None:
    """The marts that are views over other marts, from the SQL staged next to them."""
    for view in sorted(marts_dir.glob(f"*{VIEW_SUFFIX}")):
        name = view.name.removesuffix(VIEW_SUFFIX)
        create_relation(con, name, "view", view.read_text(), existing=existing)


def load_marts(settings: Settings, marts_dir: Path) -> list[str]:
    """Replace the warehouse's mart tables with the staged ones, all in one transaction."""
    tables = sorted(Path(marts_dir).glob("*.parquet"))
    con = duckdb.connect(str(settings.warehouse_path))
    try:
        con.execute("begin transaction")
        try:
            existing = persistent_relations(con)
            for parquet in tables:
                escaped = str(parquet).replace("'", "''")
                create_relation(
                    con,
                    parquet.stem,
                    "table",
                    f"select * from read_parquet('{escaped}')",
                    existing=existing,
                )
            _create_views(con, Path(marts_dir), existing)
            con.execute("commit")
        except BaseException:
            con.execute("rollback")
            raise
    finally:
        con.close()
    views = [v.name.removesuffix(VIEW_SUFFIX) for v in Path(marts_dir).glob(f"*{VIEW_SUFFIX}")]
    return sorted([p.stem for p in tables] + views)

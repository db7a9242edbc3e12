"""`nrr compute`: ledger (or the Stripe lake) -> validated rows -> metric models -> warehouse.

Kept free of Prefect so the command starts in a second; the flows call the same function.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb

from nrr.errors import BadRow, NrrError
from nrr.metrics.engine import (
    MART_TABLES,
    BuildResult,
    EngineParams,
    build,
    create_relation,
)
from nrr.relations import persistent_relations
from nrr.settings import Settings
from nrr.snapshots.fingerprint import code_version, input_fingerprint
from nrr.sources.fx import load_fx_rates
from nrr.sources.ledger import LedgerLoad, LedgerRules, load_ledger, load_ledger_arrow
from nrr.warehouse import WAREHOUSE_ALIAS, attach_warehouse, scratch_connection

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


MONTH_FILES_DIR = "month"


@dataclass
class StagedMarts:
    """A close's marts in the engine's in-memory DuckDB, waiting for the output gate."""

    con: duckdb.DuckDBPyConnection
    tables: tuple[str, ...]  # marts stored as tables
    views: dict[str, str]  # marts that are views over them: name -> SQL


# A close's marts stay in the engine's connection from its compute to its load (found by the
# run directory; the close's tasks run in the flow's process): the output gate validates them
# where they are and the load copies them into the warehouse once. Staging them as Parquet
# and reading that back into the warehouse wrote 20M customer-months twice more at 1M
# customers (up to 15 s on a loaded machine).
_STAGED: dict[Path, StagedMarts] = {}
_STAGED_LOCK = threading.Lock()


def compute_close_staged(
    settings: Settings,
    period: date,
    ledger: Path | None,
    run_dir: Path,
    *,
    extra_stats: dict[str, object] | None = None,
) -> StagedMonth:
    """The close's compute, kept off the warehouse until its outputs pass validation.

    The engine runs in memory; its marts stay there (`staged_marts(run_dir)`) and the
    month's figures go to `run_dir/month/`. `load_staged_marts` then copies the marts into
    the warehouse; `discard_staged_marts` drops them.
    """
    started = time.perf_counter()
    period = period.replace(day=1)
    con = scratch_connection(settings)
    try:
        loaded = load_inputs(con, settings, ledger)
        built = build(con, engine_params(settings, period))
        meta = _stage(con, settings, period, run_dir / MONTH_FILES_DIR, loaded.source,
                      extra_stats)  # fmt: skip
    except BaseException:
        con.close()
        raise
    tables = tuple(name for name in MART_TABLES if name not in built.views)
    discard_staged_marts(run_dir)  # a retried compute replaces its earlier marts
    with _STAGED_LOCK:
        _STAGED[Path(run_dir)] = StagedMarts(con, tables, dict(built.views))
    return StagedMonth(period, run_dir / MONTH_FILES_DIR, meta, time.perf_counter() - started)


def staged_marts(run_dir: Path) -> duckdb.DuckDBPyConnection:
    """The connection holding the marts `compute_close_staged` computed for `run_dir`."""
    with _STAGED_LOCK:
        staged = _STAGED.get(Path(run_dir))
    if staged is None:
        raise NrrError(f"no computed marts for {run_dir} in this process: compute them first")
    return staged.con


def load_staged_marts(settings: Settings, run_dir: Path) -> list[str]:
    """Replace the warehouse's marts with the staged ones in one transaction, then drop the
    staged copy. On failure the warehouse is as it was and the staged marts stay (a retry)."""
    staged_marts(run_dir)
    staged = _STAGED[Path(run_dir)]
    con = staged.con
    attach_warehouse(con, settings)
    try:
        con.execute("begin transaction")
        try:
            existing = persistent_relations(con)
            for name in staged.tables:
                create_relation(con, name, "table", f"select * from memory.main.{name}",
                                existing=existing)  # fmt: skip
            for name, sql in staged.views.items():
                create_relation(con, name, "view", sql, existing=existing)
            con.execute("commit")
        except BaseException:
            con.execute("rollback")
            raise
    finally:
        con.execute("use memory")
        con.execute(f"detach {WAREHOUSE_ALIAS}")
    discard_staged_marts(run_dir)
    return sorted([*staged.tables, *staged.views])


def discard_staged_marts(run_dir: Path) -> None:
    """Free the staged marts of `run_dir` (nothing happens when there are none)."""
    with _STAGED_LOCK:
        staged = _STAGED.pop(Path(run_dir), None)
    if staged is not None:
        staged.con.close()

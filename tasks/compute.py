"""Metric computation as tasks: the close's compute, one backfill month, fingerprints."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from prefect import task
from prefect.cache_policies import NO_CACHE

from nrr.compute import (
    StagedMonth,
    compute_close_staged,
    compute_months,
    load_staged_marts,
    month_fingerprints,
)
from nrr.settings import Settings
from nrr.tasks.common import logger


@task(name="compute-close", timeout_seconds=3 * 3600, cache_policy=NO_CACHE)
def compute_close(
    settings: Settings,
    month: date,
    ledger: Path | None,
    run_dir: Path,
    extra_stats: dict | None = None,
) -> StagedMonth:
    """Compute every table up to `month` off the warehouse: the marts stay in memory for the
    output gate and the load; the month's figures are staged under `run_dir`."""
    staged = compute_close_staged(settings, month, ledger, run_dir, extra_stats=extra_stats)
    logger().info(
        "computed %s in %.1fs (fingerprint %s)",
        f"{month:%Y-%m}",
        staged.seconds,
        staged.meta.input_fingerprint,
    )
    return staged


@task(
    name="load-warehouse",
    retries=2,
    retry_delay_seconds=5,
    timeout_seconds=3600,
    cache_policy=NO_CACHE,
)
def load_warehouse(settings: Settings, run_dir: Path) -> list[str]:
    """Copy the validated marts into the warehouse in one transaction."""
    from nrr.locking import warehouse_lock

    with warehouse_lock(settings):
        tables = load_staged_marts(settings, run_dir)
    logger().info("warehouse %s now holds %s", settings.warehouse_path, ", ".join(tables))
    return tables


@task(
    name="compute-months",
    retries=1,
    retry_delay_seconds=5,
    cache_policy=NO_CACHE,
    task_run_name="compute-months-{label}",
)
def compute_backfill_months(
    settings: Settings, months: list[date], ledger: Path | None, staged_root: Path, label: str = ""
) -> list[StagedMonth]:
    """Compute a chunk of months in memory and stage each one's figures (no shared state).

    No task timeout: it runs in a worker thread or a Dask worker, where Prefect cannot
    interrupt it anyway; the flow's own timeout bounds the backfill.
    """
    staged = compute_months(
        settings, months, ledger, {m: staged_root / f"{m:%Y-%m}" for m in months}
    )
    logger().info("computed %s in %.1fs", label, sum(m.seconds for m in staged))
    return staged


@task(name="fingerprint-months", timeout_seconds=3600, cache_policy=NO_CACHE)
def fingerprint_months(
    settings: Settings, ledger: Path | None, months: list[date]
) -> dict[date, str]:
    """What each month's figures depend on, hashed, to skip months whose inputs are unchanged."""
    return month_fingerprints(settings, ledger, months)


@task(name="stage-ledger", retries=1, timeout_seconds=3600, cache_policy=NO_CACHE)
def stage_ledger(settings: Settings, run_dir: Path) -> Path:
    """Derive the Stripe lake's ledger once and stage it as Parquet for every month's task."""
    from nrr.compute import stripe_ledger
    from nrr.storage import write_parquet_atomic

    table = stripe_ledger(settings)
    target = run_dir / "ledger.parquet"
    write_parquet_atomic(table, target)
    logger().info("staged the Stripe ledger (%s rows) at %s", f"{table.num_rows:,}", target)
    return target


@task(name="prune-run-outputs", cache_policy=NO_CACHE)
def prune_run_outputs(settings: Settings) -> int:
    """Keep the newest N run staging dirs and validation runs (NRR_KEEP_RUNS, ..._VALIDATIONS)."""
    from nrr.retention import prune_run_outputs as prune

    pruned = prune(settings)
    if pruned.removed:
        logger().info("removed %d old run directories (%.1f MB)", len(pruned.removed),
                      pruned.freed_bytes / 1e6)  # fmt: skip
    return len(pruned.removed)

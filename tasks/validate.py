"""Data-quality gates as tasks: they return the report; the flow decides what blocks."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from prefect import task
from prefect.cache_policies import NO_CACHE

from nrr.settings import Settings
from nrr.tasks.common import logger


def _log(report, phase: str) -> None:
    log = logger()
    failed = report.failures
    log.info(
        "%s validation: %d expectations, %d failed (%d critical); Data Docs: %s",
        phase,
        len(report.results),
        len(failed),
        len(report.blocking),
        report.data_docs_path,
    )
    for outcome in failed:
        log.warning("%s", outcome.headline())


@task(name="validate-inputs", timeout_seconds=3600, cache_policy=NO_CACHE)
def validate_inputs(settings: Settings, month: date, ledger: Path | None, previous: dict | None):
    """Run the input suites (ledger or raw Stripe lake, FX coverage, freshness, volume)."""
    from nrr.expectations.gates import validate_inputs as run
    from nrr.expectations.report import CloseStats

    baseline = CloseStats.from_dict(previous) if previous else None
    report = run(settings, as_of=month, ledger_path=ledger, previous=baseline)
    _log(report, "input")
    return report


@task(name="validate-outputs", timeout_seconds=3600, cache_policy=NO_CACHE)
def validate_outputs(settings: Settings, month: date, run_dir: Path, previous: dict | None):
    """Run the derived-table suites on the computed marts, before they reach the warehouse
    (in the compute's own DuckDB, where they are)."""
    from nrr.compute import staged_marts
    from nrr.expectations.gates import validate_outputs as run
    from nrr.expectations.report import CloseStats

    baseline = CloseStats.from_dict(previous) if previous else None
    report = run(staged_marts(run_dir), settings, as_of=month, previous=baseline)
    _log(report, "output")
    return report

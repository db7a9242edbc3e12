"""Backfill: compute and snapshot every month of a range, months in parallel.

Idempotent (a month whose inputs and code are unchanged is skipped), resumable (a failed
month does not lose the others; re-running finishes the rest), quiet on Slack unless asked.
"""

from __future__ import annotations

import contextlib
from datetime import date
from pathlib import Path

from prefect import flow
from prefect.task_runners import ThreadPoolTaskRunner

from nrr.flows.common import (
    current_run_id,
    flow_settings,
    months_between,
    parse_month,
    previous_close_stats,
    refuse_unfinished,
    step,
)
from nrr.flows.limits import exclusive, lake_limit, publish_limit
from nrr.settings import Settings
from nrr.snapshots.fingerprint import code_version
from nrr.snapshots.store import published_fingerprints
from nrr.tasks.common import StepFailed, logger
from nrr.tasks.compute import (
    compute_backfill_months,
    fingerprint_months,
    prune_run_outputs,
    stage_ledger,
)
from nrr.tasks.notify import build_report, notify_close
from nrr.tasks.snapshot import publish_snapshot
from nrr.tasks.validate import validate_inputs


def task_runner_for(settings: Settings):
    """Dask (through prefect-dask) when a scheduler address is configured, else threads."""
    if settings.dask_scheduler_address:
        from prefect_dask import DaskTaskRunner

        return DaskTaskRunner(address=settings.dask_scheduler_address)
    return ThreadPoolTaskRunner(max_workers=settings.backfill_max_workers)


def chunks(months: list[date], size: int) -> list[list[date]]:
    """Consecutive months, `size` at a time: each chunk is one engine run."""
    return [months[i : i + size] for i in range(0, len(months), size)]


@flow(name="backfill-compute", flow_run_name="backfill-compute-{run_id}")
def compute_months(
    settings: Settings, months: list[date], ledger: Path | None, run_dir: Path, run_id: str
) -> tuple[dict[date, object], dict[date, str]]:
    """Compute chunks of months concurrently on the flow's task runner; collect failures."""
    futures = {
        tuple(chunk): compute_backfill_months.submit(
            settings, chunk, ledger, run_dir, label=f"{chunk[0]:%Y-%m}..{chunk[-1]:%Y-%m}"
        )
        for chunk in chunks(months, settings.backfill_months_per_task)
    }
    staged, failed = {}, {}
    for chunk, future in futures.items():
        try:
            for month in future.result():
                staged[month.period] = month
        except Exception as exc:  # one chunk failing must not lose the others
            for month in chunk:
                failed[month] = f"{type(exc).__name__}: {exc}"
            logger().error("months %s..%s failed: %s", f"{chunk[0]:%Y-%m}",
                           f"{chunk[-1]:%Y-%m}", failed[chunk[0]])  # fmt: skip
    return staged, failed


@flow(name="backfill", flow_run_name="backfill-{from_month}-to-{to_month}")
def backfill(
    from_month: str,
    to_month: str,
    ledger: str | None = None,
    data_dir: str | None = None,
    notify_summary: bool = False,
    force: bool = False,
    confirm_implausible: bool = False,
) -> dict[str, object]:
    """Snapshot every month from `from_month` to `to_month` (inclusive). `confirm_implausible`:
    publish months the plausibility gate would block (a young ledger's first months can well
    double), recorded on each such snapshot."""
    settings = flow_settings(data_dir)
    first, last = parse_month(from_month), parse_month(to_month)
    if first is None or last is None or first > last:
        raise StepFailed("parameters", f"the range {from_month} .. {to_month} is reversed: "
                         "the first month must not be after the last")  # fmt: skip
    refuse_unfinished(last, settings.close_timezone)
    months = months_between(first, last)
    run_id = current_run_id()
    run_dir = settings.data_dir / "runs" / f"backfill-{run_id}"
    log = logger()

    baseline = previous_close_stats(settings, last)
    source = Path(ledger) if ledger else None
    # the lake is read by one run at a time (never while an extraction writes it)
    lake = (
        contextlib.nullcontext()
        if ledger
        else exclusive(lake_limit(settings), "the Stripe lake", settings.lock_timeout_seconds)
    )
    with lake:
        ledger_path = source or step("stage-ledger", stage_ledger, settings, run_dir)
        inputs = step("validate-inputs", validate_inputs, settings, last, source, baseline)
    if inputs.blocking:
        names = "; ".join(o.headline() for o in inputs.blocking[:5])
        raise StepFailed("validate-inputs", f"critical data-quality failure(s): {names}")

    fingerprints = step("fingerprint", fingerprint_months, settings, ledger_path, months)
    done = published_fingerprints(settings)
    code = code_version()
    todo = [m for m in months if force or (fingerprints[m], code) not in done.get(m, set())]
    skipped = [m for m in months if m not in todo]
    for month in skipped:
        log.info("%s: inputs and code unchanged since its snapshot; skipped", f"{month:%Y-%m}")

    staged, failed = (
        compute_months.with_options(task_runner=task_runner_for(settings))(
            settings, todo, ledger_path, run_dir, run_id
        )
        if todo
        else ({}, {})
    )
    outcomes: dict[str, str] = {f"{m:%Y-%m}": "skipped (unchanged)" for m in skipped}
    published = {}
    for month in todo:
        key = f"{month:%Y-%m}"
        if month in failed:
            outcomes[key] = f"failed: {failed[month]}"
            continue
        try:
            with exclusive(
                publish_limit(month), f"publishing {key}", settings.lock_timeout_seconds
            ):
                result = publish_snapshot(
                    settings, staged[month].directory, run_id, confirm_implausible
                )
        except Exception as exc:
            failed[month] = f"{type(exc).__name__}: {exc}"
            outcomes[key] = f"failed: {failed[month]}"
            continue
        published[month] = result
        outcomes[key] = f"{result.outcome} {result.snapshot_id}"

    if notify_summary and last in published:
        summary = step("report", build_report, settings, published[last], [])
        step("notify", notify_close, settings, summary)
    report = {
        "months": len(months),
        "published": sum(1 for r in published.values() if r.outcome == "published"),
        "restated": sum(1 for r in published.values() if r.outcome == "restated"),
        "unchanged": sum(1 for r in published.values() if r.outcome == "unchanged"),
        "skipped": len(skipped),
        "failed": len(failed),
        "outcomes": dict(sorted(outcomes.items())),
    }
    _artifact(report)
    prune_run_outputs(settings)
    if failed:
        listed = ", ".join(f"{m:%Y-%m}" for m in sorted(failed))
        raise StepFailed("backfill", f"{len(failed)} month(s) failed ({listed}); the others are "
                         "published; re-run the backfill to finish them")  # fmt: skip
    return report


def _artifact(report: dict[str, object]) -> None:
    from prefect.artifacts import create_table_artifact

    create_table_artifact(
        [{"month": month, "outcome": outcome} for month, outcome in report["outcomes"].items()],
        key="backfill-outcomes",
        description="What the backfill did with each month",
    )

"""The monthly close: extract -> validate -> compute -> snapshot -> report -> notify."""

from __future__ import annotations

from pathlib import Path

from prefect import flow

from flows.common import (
    current_run_id,
    flow_settings,
    month_that_just_ended,
    parse_month,
    previous_close_stats,
    step,
)
from nrr.compute import discard_staged_marts
from nrr.locking import warehouse_lock
from tasks.common import StepFailed, logger
from tasks.compute import compute_close, load_warehouse
from tasks.extract import extract_stripe
from tasks.notify import build_report, notify_blocked, notify_close, publish_artifacts
from tasks.snapshot import publish_snapshot
from tasks.validate import validate_inputs, validate_outputs


@flow(name="monthly-close", flow_run_name="close-{month}", timeout_seconds=6 * 3600)
def monthly_close(
    month: str | None = None,
    ledger: str | None = None,
    data_dir: str | None = None,
    notify: bool = True,
    extract: bool | None = None,
    full_extract: bool = False,
) -> dict[str, object]:
    """Close `month` (default: the month that just ended) and publish its snapshot.

    Without `ledger`, the Stripe lake is the source (extracted first when a Stripe key is
    configured, or when `extract` is true). Critical data-quality failures stop the close
    before anything is published and raise one Slack alert instead.
    """
    settings = flow_settings(data_dir)
    period = parse_month(month) or month_that_just_ended(settings.close_timezone)
    run_id = current_run_id()
    run_dir = settings.data_dir / "runs" / f"close-{period:%Y-%m}-{run_id}"
    ledger_path = Path(ledger) if ledger else None
    log = logger()
    log.info("closing %s (run %s, source %s)", f"{period:%Y-%m}", run_id,
             ledger_path or "Stripe lake")  # fmt: skip

    if ledger_path is None and (extract or (extract is None and settings.stripe_api_key)):
        step("extract", extract_stripe, settings, full_extract)
    previous = previous_close_stats(settings, period)

    inputs = step("validate-inputs", validate_inputs, settings, period, ledger_path, previous)
    if inputs.blocking:
        _block(settings, period, inputs, notify, "validate-inputs")
    staged = step("compute", compute_close, settings, period, ledger_path, run_dir,
                  {"row_counts": inputs.stats().row_counts})  # fmt: skip
    try:  # the computed marts wait in memory for the output gate, then the load
        outputs = step("validate-outputs", validate_outputs, settings, period, run_dir, previous)
        if outputs.blocking:
            _block(settings, period, outputs, notify, "validate-outputs")

        # one writer at a time: a second close of the same month waits, then finds it unchanged
        with warehouse_lock(settings):
            step("load-warehouse", load_warehouse, settings, run_dir)
            published = step("publish", publish_snapshot, settings, staged.directory, run_id)
    finally:
        discard_staged_marts(run_dir)

    warnings = [o.headline() for o in (*inputs.warnings, *outputs.warnings)]
    summary = step("report", build_report, settings, published, warnings)
    delivery = step("notify", notify_close, settings, summary) if notify else None
    publish_artifacts(summary, published, summary.report_path)
    return {
        "period": f"{period:%Y-%m}",
        "outcome": published.outcome,
        "snapshot_id": published.snapshot_id,
        "version": published.version,
        "restatements": len(published.restatements),
        "message": published.message,
        "report": str(summary.report_path),
        "warnings": warnings,
        "data_docs": [str(inputs.data_docs_path), str(outputs.data_docs_path)],
        "notify": delivery,
    }


def _block(settings, period, report, notify: bool, step_name: str) -> None:
    """Stop the close: nothing published; one alert naming the failed expectations."""
    if notify:
        notify_blocked(settings, period, report)
    names = "; ".join(o.headline() for o in report.blocking[:5])
    raise StepFailed(
        step_name,
        f"{len(report.blocking)} critical data-quality failure(s), nothing published: {names}",
    )

"""The monthly close: extract -> validate -> compute -> snapshot -> report -> notify."""

from __future__ import annotations

import contextlib
from pathlib import Path

from prefect import flow

from nrr.compute import discard_staged_marts
from nrr.flows.common import (
    current_run_id,
    flow_settings,
    parse_month,
    previous_close_stats,
    refuse_unfinished,
    step,
)
from nrr.flows.failure_alert import alert_close_failed, mark_alerted
from nrr.flows.limits import exclusive, lake_limit, publish_limit
from nrr.flows.names import close_run_name, default_close_month
from nrr.followups import mark_done
from nrr.locking import warehouse_lock
from nrr.tasks.common import StepFailed, logger
from nrr.tasks.compute import compute_close, load_warehouse, prune_run_outputs
from nrr.tasks.extract import extract_with_retries
from nrr.tasks.notify import (
    build_report,
    notify_blocked,
    notify_close,
    notify_implausible,
    publish_artifacts,
)
from nrr.tasks.snapshot import publish_snapshot
from nrr.tasks.validate import validate_inputs, validate_outputs


@flow(
    name="monthly-close",
    flow_run_name=close_run_name,
    timeout_seconds=6 * 3600,
    on_failure=[alert_close_failed],
    on_crashed=[alert_close_failed],
)
def monthly_close(
    month: str | None = None,
    ledger: str | None = None,
    data_dir: str | None = None,
    notify: bool = True,
    extract: bool | None = None,
    full_extract: bool = False,
    confirm_implausible: bool = False,
) -> dict[str, object]:
    """Close `month` (default: the month that just ended) and publish its snapshot.

    Without `ledger`, the Stripe lake is the source (extracted first when a Stripe key is
    configured, or when `extract` is true). Critical data-quality failures stop the close
    before anything is published and raise one Slack alert instead; so do implausible
    figures (nrr/snapshots/plausibility.py) unless `confirm_implausible`. A version published
    by an earlier run that died before its report and messages gets them first.
    """
    settings = flow_settings(data_dir)
    period = parse_month(month) or default_close_month(settings.close_timezone)
    refuse_unfinished(period, settings.close_timezone)
    run_id = current_run_id()
    run_dir = settings.data_dir / "runs" / f"close-{period:%Y-%m}-{run_id}"
    ledger_path = Path(ledger) if ledger else None
    log = logger()
    log.info("closing %s (run %s, source %s)", f"{period:%Y-%m}", run_id,
             ledger_path or "Stripe lake")  # fmt: skip

    _complete_earlier_runs(settings)
    previous = previous_close_stats(settings, period)
    # the lake is read (and first extracted) by one run at a time: never half-written
    with _lake(settings, ledger_path):
        if ledger_path is None and (extract or (extract is None and settings.stripe_api_key)):
            step("extract", extract_with_retries(settings), settings, full_extract)
        inputs = step("validate-inputs", validate_inputs, settings, period, ledger_path, previous)
        if inputs.blocking:
            _block(settings, period, inputs, notify, "validate-inputs")
        staged = step("compute", compute_close, settings, period, ledger_path, run_dir,
                      {"row_counts": inputs.stats().row_counts})  # fmt: skip
    try:  # the computed marts wait in memory for the output gate, then the load
        outputs = step("validate-outputs", validate_outputs, settings, period, run_dir, previous)
        if outputs.blocking:
            _block(settings, period, outputs, notify, "validate-outputs")
        _check_plausible(settings, staged, notify, confirm_implausible)

        # one writer at a time: a second close of the same month waits, then finds it unchanged
        publishing = exclusive(publish_limit(period), f"publishing {period:%Y-%m}",
                               settings.lock_timeout_seconds)  # fmt: skip
        with publishing, warehouse_lock(settings):
            step("load-warehouse", load_warehouse, settings, run_dir)
            published = step("publish", publish_snapshot, settings, staged.directory, run_id,
                             confirm_implausible, notify)  # fmt: skip
    finally:
        discard_staged_marts(run_dir)

    warnings = [o.headline() for o in (*inputs.warnings, *outputs.warnings)]
    summary = step("report", build_report, settings, published, warnings)
    delivery = step("notify", notify_close, settings, summary) if notify else None
    if published.wrote_snapshot:
        mark_done(settings, str(published.snapshot_id))
    publish_artifacts(summary, published, summary.report_path)
    prune_run_outputs(settings)
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


def _lake(settings, ledger_path: Path | None):
    """The account's lake limit when the lake is the source; nothing to hold for a ledger."""
    if ledger_path is not None:
        return contextlib.nullcontext()
    return exclusive(lake_limit(settings), "the Stripe lake", settings.lock_timeout_seconds)


def _complete_earlier_runs(settings) -> None:
    """Reports and messages of versions an earlier run published but died before sending."""
    from nrr.followups import complete_pending

    for done in step("complete-earlier-runs", complete_pending, settings):
        logger().warning(
            "%s was published by an earlier run that stopped before its report and messages; "
            "completed now (%s)",
            done.followup.snapshot_id,
            done.report_path,
        )


def _check_plausible(settings, staged, notify: bool, confirmed: bool) -> None:
    """Before the warehouse is touched: no month before the first revenue, no implausible
    figures unless the user confirmed them (then they are recorded on the snapshot)."""
    from nrr.errors import NrrError
    from nrr.snapshots.plausibility import ImplausibleClose, check_staged

    try:
        check_staged(settings, staged.meta, staged.directory, confirmed=confirmed)
    except ImplausibleClose as exc:
        if notify:
            notify_implausible(settings, staged.period, exc)
            mark_alerted()
        raise StepFailed("plausibility", str(exc)) from exc
    except NrrError as exc:
        raise StepFailed("plausibility", str(exc)) from exc


def _block(settings, period, report, notify: bool, step_name: str) -> None:
    """Stop the close: nothing published; one alert naming the failed expectations."""
    if notify:
        notify_blocked(settings, period, report)
        mark_alerted()
    names = "; ".join(o.headline() + _first_example(o) for o in report.blocking[:5])
    raise StepFailed(
        step_name,
        f"{len(report.blocking)} critical data-quality failure(s), nothing published: {names}",
    )


def _first_example(outcome) -> str:
    """' (first: row 3: mrr=-5.0, customer_id=b)': where to look, in plain numbers."""
    from nrr.expectations.report import example_text

    if not outcome.examples or not isinstance(outcome.examples[0], dict):
        return ""
    example = dict(outcome.examples[0])
    row = example.pop("_row", None)
    where = f"row {row}: " if row is not None else ""
    return f" (first: {where}{example_text(example)})"

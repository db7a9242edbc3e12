"""One Slack alert when a close fails or crashes: which step, the one-line reason, the run.

A Prefect state hook (`on_failure`, `on_crashed`) of the monthly close. The message goes
through the delivery ledger keyed by the flow run, so a hook that fires twice (a retry of the
hook, a worker reporting a crash the run already reported) posts once. A close stopped by
critical data-quality failures or implausible figures has already sent its own alert and is
skipped here.
"""

from __future__ import annotations

import logging
import re

log = logging.getLogger("nrr.flows.failure_alert")

STEP_FAILED = re.compile(r"step '(?P<step>[^']+)' failed: (?P<reason>.*)", re.DOTALL)
BLOCKED_MARK = "critical data-quality failure(s), nothing published"
IMPLAUSIBLE_MARK = "not published: implausible figures"  # nrr/snapshots/plausibility.py


_ALERTED: set[str] = set()  # runs of this process that sent their own alert before failing


def mark_alerted() -> None:
    """Called by a close that posted its own alert (blocked, implausible) before failing: the
    failure hook then sends no second one."""
    from prefect.runtime import flow_run

    if flow_run.id:
        _ALERTED.add(str(flow_run.id))


def describe(message: str | None) -> tuple[str, str]:
    """(step, one-line reason) from a failed or crashed run's state message."""
    text = (message or "").strip() or "no reason recorded"
    found = STEP_FAILED.search(text)
    if found:
        step, reason = found["step"], found["reason"]
    else:
        step, reason = "run", text.removeprefix("Flow run encountered an exception. ")
    first = next((line.strip() for line in reason.splitlines() if line.strip()), reason)
    return step, first[:500]


def run_url(flow_run_id: object) -> str | None:
    from prefect.settings import PREFECT_UI_URL

    base = PREFECT_UI_URL.value()
    return f"{base.rstrip('/')}/runs/flow-run/{flow_run_id}" if base else None


def alert_close_failed(flow, flow_run, state) -> None:
    """The hook: never raises (a broken alert must not hide the run's own failure)."""
    try:
        _alert(flow_run, state)
    except Exception:
        log.exception("the failure alert of flow run %s could not be sent", flow_run.id)


def _alert(flow_run, state) -> None:
    from zoneinfo import ZoneInfo

    from nrr.flows.common import flow_settings, month_that_just_ended, parse_month
    from nrr.slack.service import notify_failed

    parameters = flow_run.parameters or {}
    if parameters.get("notify") is False:
        return
    message = state.message or ""
    if str(flow_run.id) in _ALERTED or BLOCKED_MARK in message or IMPLAUSIBLE_MARK in message:
        return  # the close's own alert (data quality, plausibility) already went out
    settings = flow_settings(parameters.get("data_dir"))
    try:
        period = parse_month(parameters.get("month"))
    except Exception:
        period = None
    if period is None:  # a scheduled close: the month that had ended when it was due
        zone = settings.close_timezone
        due = flow_run.expected_start_time
        period = month_that_just_ended(zone, due.astimezone(ZoneInfo(zone)) if due else None)
    step, reason = describe(state.message)
    if state.is_crashed():
        reason = f"the run crashed: {reason}"
    result = notify_failed(settings, period, str(flow_run.id), step, reason, run_url(flow_run.id))
    for outcome in result.outcomes:
        level = (
            logging.INFO
            if outcome.status in ("delivered", "already-delivered")
            else logging.WARNING
        )
        log.log(level, "failure alert %s: %s%s", outcome.key, outcome.status,
                f" ({outcome.error})" if outcome.error else "")  # fmt: skip

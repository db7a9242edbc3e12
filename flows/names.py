"""Flow run names: a scheduled run has no `month` parameter, yet its name says which month
it closes (`close-2025-06`, not `close-None`)."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo


def default_close_month(timezone: str) -> date:
    """The month that had just ended when the run was scheduled (or now, outside a scheduled
    run): a close that starts late still closes the month it was scheduled for."""
    from nrr.flows.common import month_that_just_ended

    return month_that_just_ended(timezone, _scheduled_start(timezone))


def _close_timezone() -> str:
    from nrr.settings import load_settings

    try:
        return load_settings().close_timezone
    except Exception:  # invalid settings fail the run itself, with a clear message
        return "UTC"


def _scheduled_start(timezone: str) -> datetime | None:
    """When the run was scheduled for, in `timezone` (a late run still closes its month)."""
    from prefect.runtime import flow_run

    try:
        start = flow_run.scheduled_start_time if flow_run.id else None
    except Exception:
        return None
    return start.astimezone(ZoneInfo(timezone)) if start else None


def close_run_name() -> str:
    from prefect.runtime import flow_run

    from nrr.flows.common import parse_month

    try:
        month = parse_month(flow_run.parameters.get("month"))
    except Exception:  # a bad month fails the run itself, with a clear message
        month = None
    return f"close-{(month or default_close_month(_close_timezone())):%Y-%m}"


def extract_run_name() -> str:
    from prefect.runtime import flow_run

    timezone = _close_timezone()
    start = _scheduled_start(timezone) or datetime.now(ZoneInfo(timezone))
    full = "-full" if flow_run.parameters.get("full") else ""
    return f"extract{full}-{start:%Y-%m-%d}"

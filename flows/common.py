"""What every flow needs: settings from plain parameters, months, run ids, step errors."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from nrr.errors import NrrError
from nrr.settings import Settings, load_settings
from nrr.tasks.common import StepFailed

T = TypeVar("T")


def flow_settings(data_dir: str | None) -> Settings:
    return load_settings(data_dir=Path(data_dir) if data_dir else None)


def parse_month(value: str | date | None) -> date | None:
    if value is None or isinstance(value, date):
        return value.replace(day=1) if value else None
    try:
        year, month = str(value).split("-")[:2]
        return date(int(year), int(month), 1)
    except ValueError:
        raise StepFailed("parameters", f"{value!r} is not a month (YYYY-MM)") from None


def month_that_just_ended(timezone: str, now: datetime | None = None) -> date:
    today = (now or datetime.now(ZoneInfo(timezone))).date()
    return date(today.year - (today.month == 1), (today.month - 2) % 12 + 1, 1)


def refuse_unfinished(period: date, timezone: str, now: datetime | None = None) -> None:
    """A close publishes finished months only: the current or a future month is refused."""
    today = (now or datetime.now(ZoneInfo(timezone))).date()
    if period > month_that_just_ended(timezone, now):
        raise StepFailed(
            "parameters",
            f"{period:%Y-%m} has not ended yet (today is {today:%Y-%m-%d} in {timezone}); "
            "only finished months can be closed",
        )


def months_between(first: date, last: date) -> list[date]:
    months, current = [], first.replace(day=1)
    while current <= last:
        months.append(current)
        current = date(current.year + current.month // 12, current.month % 12 + 1, 1)
    return months


def current_run_id() -> str:
    """The Prefect flow run id when there is one (it names staging dirs and snapshots' run)."""
    from prefect.runtime import flow_run

    with contextlib.suppress(Exception):  # outside a run, any id will do
        if flow_run.id:
            return str(flow_run.id)[:8]
    return uuid.uuid4().hex[:8]


def step(name: str, call: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run one step; whatever goes wrong, the flow fails saying which step and why."""
    try:
        return call(*args, **kwargs)
    except StepFailed:
        raise
    except NrrError as exc:
        raise StepFailed(name, str(exc)) from exc
    except Exception as exc:
        raise StepFailed(name, f"{type(exc).__name__}: {exc}") from exc


def previous_close_stats(settings: Settings, period: date) -> dict | None:
    """The latest published close before `period`, as the GX volume checks' baseline."""
    from nrr.snapshots.store import latest_stats

    stats = latest_stats(settings, period)
    if not stats:
        return None
    return {
        "period": str(stats["period"]),
        "row_counts": stats.get("row_counts") or {},
        "total_mrr": stats.get("total_mrr"),
    }

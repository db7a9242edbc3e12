"""Calendar arithmetic on Unix timestamps (UTC), the way Stripe moves billing periods.

Stripe keeps a subscription's billing-cycle anchor and adds whole intervals to it: a monthly
subscription anchored on the 31st renews on the last day of shorter months and goes back
to the 31st when it can. Periods are therefore computed from the anchor and a period index,
never by adding a month to the previous period end.
"""

from __future__ import annotations

import calendar
from datetime import UTC, date, datetime

DAY = 86_400
HOUR = 3_600


def ts(value: date | datetime) -> int:
    """Unix seconds of a date (midnight UTC) or an aware/naive-UTC datetime."""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return int(value.timestamp())
    return calendar.timegm(value.timetuple())


def to_datetime(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def add_months(anchor: int, months: int) -> int:
    """`anchor` moved by whole months, clamping the day like Stripe's billing anchor."""
    moment = to_datetime(anchor)
    index = moment.year * 12 + moment.month - 1 + months
    year, month = divmod(index, 12)
    day = min(moment.day, calendar.monthrange(year, month + 1)[1])
    return ts(moment.replace(year=year, month=month + 1, day=day))


def period_bound(anchor: int, interval: str, count: int, index: int) -> int:
    """Start of period number `index` (0 = the anchor) of a `count` x `interval` cycle."""
    if interval == "month":
        return add_months(anchor, count * index)
    if interval == "year":
        return add_months(anchor, 12 * count * index)
    if interval == "week":
        return anchor + 7 * DAY * count * index
    if interval == "day":
        return anchor + DAY * count * index
    raise ValueError(f"unknown interval {interval!r}")


def months_per_period(interval: str, count: int) -> float:
    """Length of one period in months, for the MRR normalisation of metrics.md section 1."""
    per_unit = {"month": 1.0, "year": 12.0, "week": 12.0 / 52.0, "day": 12.0 / 365.0}[interval]
    return per_unit * count


def month_start(first: date, offset: int) -> date:
    index = first.year * 12 + first.month - 1 + offset
    return date(index // 12, index % 12 + 1, 1)


def month_label(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"

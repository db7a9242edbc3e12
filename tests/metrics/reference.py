"""A slow, literal Python reading of metrics.md, to check the SQL engine against.

Written from the contract's text, not from the SQL: month-end instants, the movement table,
the window rules with both reactivation policies, acquisition cohorts. Single currency.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal


def month_index(day: date) -> int:
    return day.year * 12 + day.month - 1


def first_day(idx: int) -> date:
    return date(idx // 12, idx % 12 + 1, 1)


def active_at_month_end(start: date, end: date | None, idx: int) -> bool:
    """[start, end) covers the last instant of month idx (i.e. just before the next month)."""
    next_month = first_day(idx + 1)
    return start < next_month and (end is None or end >= next_month)


def customer_month_mrr(
    rows: Iterable[Mapping[str, object]], months: range
) -> dict[tuple[str, int], Decimal]:
    mrr: dict[tuple[str, int], Decimal] = defaultdict(Decimal)
    for row in rows:
        start = date.fromisoformat(str(row["start_date"]))
        end = date.fromisoformat(str(row["end_date"])) if row.get("end_date") else None
        amount = Decimal(str(row["mrr"]))
        for idx in months:
            if amount > 0 and active_at_month_end(start, end, idx):
                mrr[(str(row["customer_id"]), idx)] += amount
    return {key: value for key, value in mrr.items() if value > 0}


def movements(
    mrr: Mapping[tuple[str, int], Decimal], months: range
) -> list[tuple[int, str, str, Decimal]]:
    customers = sorted({c for c, _ in mrr})
    result = []
    for c in customers:
        had_before = False
        for idx in months:
            prev = mrr.get((c, idx - 1), Decimal(0))
            cur = mrr.get((c, idx), Decimal(0))
            if prev == 0 and cur > 0:
                result.append((idx, c, "reactivation" if had_before else "new", cur))
            elif prev > 0 and cur > prev:
                result.append((idx, c, "expansion", cur - prev))
            elif cur > 0 and cur < prev:
                result.append((idx, c, "contraction", prev - cur))
            elif prev > 0 and cur == 0:
                result.append((idx, c, "churn", prev))
            if cur > 0 or prev > 0:
                had_before = True
    return result


@dataclass
class Window:
    cohort: int
    retained: int
    start: Decimal
    expansion: Decimal
    contraction: Decimal
    churn: Decimal
    reactivated: Decimal

    @property
    def nrr(self) -> float | None:
        if self.start == 0:
            return None
        return float((self.start + self.expansion - self.contraction - self.churn) / self.start)

    @property
    def grr(self) -> float | None:
        if self.start == 0:
            return None
        return float((self.start - self.contraction - self.churn) / self.start)


def _add_member(w: Window, start_c: Decimal, end_c: Decimal, gap: bool, policy: str) -> None:
    """One member's start and end MRR into a window's sums, under the reactivation policy."""
    if gap and end_c > 0:
        w.reactivated += end_c
        if policy == "exclude":
            end_c = Decimal(0)
    w.cohort += 1
    w.start += start_c
    w.retained += end_c > 0
    w.expansion += max(Decimal(0), end_c - start_c)
    if end_c > 0:
        w.contraction += max(Decimal(0), start_c - end_c)
    else:
        w.churn += start_c


def window(mrr: Mapping[tuple[str, int], Decimal], m0: int, m1: int, policy: str) -> Window:
    w = Window(0, 0, Decimal(0), Decimal(0), Decimal(0), Decimal(0), Decimal(0))
    for c in sorted({c for c, _ in mrr}):
        start_c = mrr.get((c, m0), Decimal(0))
        if start_c == 0:
            continue
        end_c = mrr.get((c, m1), Decimal(0))
        gap = any(mrr.get((c, idx), Decimal(0)) == 0 for idx in range(m0 + 1, m1 + 1))
        _add_member(w, start_c, end_c, gap, policy)
    return w


def cohort_windows(
    mrr: Mapping[tuple[str, int], Decimal], as_of: int, policy: str
) -> dict[tuple[int, int], Window]:
    """(cohort month, age) -> the cohort's figures at that age, read like a window from the
    cohort month: members are the customers whose first month with MRR is the cohort month,
    each member's MRR at the age against its MRR in the cohort month."""
    first: dict[str, int] = {}
    for c, idx in sorted(mrr, key=lambda key: key[1]):
        first.setdefault(c, idx)
    result: dict[tuple[int, int], Window] = {}
    for k in sorted(set(first.values())):
        members = sorted(c for c, f in first.items() if f == k)
        for age in range(as_of - k + 1):
            w = Window(0, 0, Decimal(0), Decimal(0), Decimal(0), Decimal(0), Decimal(0))
            for c in members:
                gap = any(mrr.get((c, i), Decimal(0)) == 0 for i in range(k, k + age + 1))
                _add_member(w, mrr[(c, k)], mrr.get((c, k + age), Decimal(0)), gap, policy)
            result[(k, age)] = w
    return result

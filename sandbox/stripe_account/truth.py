"""Ground truth: each customer's MRR at each month end, from the simulation's segments.

A segment [start, end) counts at the last instant of month k when start <= E_k < end,
E_k being one second before the next month begins in the reporting timezone. Amounts are
converted to the reporting currency with that month's rate from the account's FX table.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import numpy as np
import pyarrow as pa

from nrr.sandbox.stripe_account.simulation import CustomerSim
from nrr.sandbox.stripe_account.world import Segment


def truth_tables(
    sims: Sequence[CustomerSim],
    month_starts: list[date],
    boundaries: list[int],
    rates: dict[str, list[float]],
) -> tuple[pa.Table, pa.Table]:
    """(truth, churn kinds). `boundaries[k]` is the first instant of month k + 1."""
    cust, start, end, cents = [], [], [], []
    for number, sim in enumerate(sims):
        for segment in [*sim.segments, *provisional_usage(sim)]:
            if segment.live and segment.end > segment.start and segment.monthly_cents:
                cust.append(number)
                start.append(segment.start)
                end.append(segment.end)
                cents.append(segment.monthly_cents)
    months = len(month_starts)
    bounds = np.asarray(boundaries, dtype=np.int64)
    lo = np.searchsorted(bounds, np.asarray(start, dtype=np.int64), side="right")
    hi = np.searchsorted(bounds, np.asarray(end, dtype=np.int64), side="right")
    count = np.clip(hi - lo, 0, None)
    keep = count > 0
    cust_arr = np.repeat(np.asarray(cust, dtype=np.int64)[keep], count[keep])
    first = np.repeat(lo[keep], count[keep])
    offsets = np.arange(len(first)) - np.repeat(np.cumsum(count[keep]) - count[keep], count[keep])
    month_idx = first + offsets
    weights = np.repeat(np.asarray(cents, dtype=np.float64)[keep], count[keep])
    key = cust_arr * months + month_idx
    native = np.bincount(key, weights=weights, minlength=len(sims) * months)
    native = native.reshape(len(sims), months) / 100.0 if len(sims) else np.zeros((0, months))
    ids = np.array([sim.customer.id if sim.customer else "" for sim in sims], dtype=object)
    currencies = np.array(
        [sim.profile.currency if sim.profile else "" for sim in sims], dtype=object
    )
    rate_grid = np.ones((len(sims), months))
    for currency, series in rates.items():
        rate_grid[currencies == currency] = np.asarray(series[:months], dtype=np.float64)
    positive = native > 1e-9
    rows, cols = np.nonzero(positive)
    month_values = np.array(month_starts, dtype="datetime64[D]")
    truth = pa.table(
        {
            "customer_id": pa.array(ids[rows].tolist(), pa.string()),
            "month": pa.array(month_values[cols], pa.date32()),
            "mrr": pa.array(native[rows, cols] * rate_grid[rows, cols], pa.float64()),
            "currency": pa.array(currencies[rows].tolist(), pa.string()),
            "mrr_native": pa.array(native[rows, cols], pa.float64()),
        }
    )
    churn = np.zeros_like(positive)
    churn[:, 1:] = positive[:, :-1] & ~positive[:, 1:]
    kind_rows, kind_cols = np.nonzero(churn)
    kinds = pa.table(
        {
            "customer_id": pa.array(ids[kind_rows].tolist(), pa.string()),
            "month": pa.array(month_values[kind_cols], pa.date32()),
            "churn_kind": pa.array(
                [
                    _churn_kind(sims[r], boundaries[c - 1] - 1, boundaries[c])
                    for r, c in zip(kind_rows.tolist(), kind_cols.tolist(), strict=True)
                ],
                pa.string(),
            ),
        }
    )
    return truth, kinds


FOREVER = 2**62


def provisional_usage(sim: CustomerSim) -> list[Segment]:
    """Usage not invoiced yet carries the last invoiced usage amount (metrics.md 1.1).

    For every running subscription (active, past_due; collection not paused) whose usage
    was invoiced up to the start of its current period, the current period's usage counts
    at the last usage line's monthly amount until the subscription ends; once invoiced, the
    real amount replaces it (`advance` then restates that month).
    """
    found = []
    for sub, state in sim.subs.values():
        if sub.ended_at is not None or sub.status not in ("active", "past_due", "trialing"):
            continue
        if sub.pause_collection is not None or not state.usage_base:
            continue
        usage = [s for s in sim.segments if s.subscription == sub.id and s.metered and s.live]
        if not usage:
            continue
        last = max(usage, key=lambda s: s.end)
        if last.end != state.period_start:
            continue
        end = sub.cancel_at if sub.cancel_at is not None else FOREVER
        found.append(
            Segment(last.end, end, last.monthly_cents, sub.id, "provisional", metered=True)
        )
    return found


def _churn_kind(sim: CustomerSim, instant: int, after: int) -> str:
    """Kind of the subscription whose revenue, active at `instant`, ended last.

    Revenue that stops while its subscription bills again after the churn month (`after`
    is the month's end) was a paused collection: the customer's choice (voluntary);
    otherwise the kind the subscription ended with.
    """
    segments = [*sim.segments, *provisional_usage(sim)]
    best, kind = None, None
    for segment in segments:
        active = segment.live and segment.start <= instant < segment.end
        if active and (best is None or segment.end > best.end):
            best, kind = segment, sim.subs[segment.subscription][1].kind
    if best is None:
        return "voluntary"
    resumed = any(
        s.live and s.subscription == best.subscription and s.start >= after for s in segments
    )
    return "voluntary" if resumed else (kind or "voluntary")

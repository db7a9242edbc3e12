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

from sandbox.stripe_account.simulation import CustomerSim


def truth_tables(
    sims: Sequence[CustomerSim],
    month_starts: list[date],
    boundaries: list[int],
    rates: dict[str, list[float]],
) -> tuple[pa.Table, pa.Table]:
    """(truth, churn kinds). `boundaries[k]` is the first instant of month k + 1."""
    cust, start, end, cents = [], [], [], []
    for number, sim in enumerate(sims):
        for segment in sim.segments:
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
    ids, month_col, mrr_col, cur_col, native_col = [], [], [], [], []
    kinds_rows: tuple[list[str], list[date], list[str]] = ([], [], [])
    for number, sim in enumerate(sims):
        row = native[number]
        if not row.any() or sim.customer is None:
            continue
        currency = sim.profile.currency
        rate = rates.get(currency)
        for k in np.flatnonzero(row > 1e-9):
            ids.append(sim.customer.id)
            month_col.append(month_starts[k])
            native_col.append(float(row[k]))
            cur_col.append(currency)
            mrr_col.append(float(row[k]) * (rate[k] if rate is not None else 1.0))
        for k in range(1, months):
            if row[k - 1] > 1e-9 and row[k] <= 1e-9:
                kinds_rows[0].append(sim.customer.id)
                kinds_rows[1].append(month_starts[k])
                kinds_rows[2].append(_churn_kind(sim, boundaries[k - 1] - 1))
    truth = pa.table({
        "customer_id": pa.array(ids, pa.string()),
        "month": pa.array(month_col, pa.date32()),
        "mrr": pa.array(mrr_col, pa.float64()),
        "currency": pa.array(cur_col, pa.string()),
        "mrr_native": pa.array(native_col, pa.float64()),
    })
    kinds = pa.table({
        "customer_id": pa.array(kinds_rows[0], pa.string()),
        "month": pa.array(kinds_rows[1], pa.date32()),
        "churn_kind": pa.array(kinds_rows[2], pa.string()),
    })
    return truth, kinds


def _churn_kind(sim: CustomerSim, instant: int) -> str:
    """Kind of the subscription whose revenue, active at `instant`, ended last."""
    best_end, kind = -1, None
    for segment in sim.segments:
        if segment.live and segment.start <= instant < segment.end and segment.end > best_end:
            state = sim.subs[segment.subscription][1]
            best_end, kind = segment.end, state.kind
    return kind or "voluntary"

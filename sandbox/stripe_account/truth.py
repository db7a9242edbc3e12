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
                    _churn_kind(sims[r], boundaries[c - 1] - 1)
                    for r, c in zip(kind_rows.tolist(), kind_cols.tolist(), strict=True)
                ],
                pa.string(),
            ),
        }
    )
    return truth, kinds


def _churn_kind(sim: CustomerSim, instant: int) -> str:
    """Kind of the subscription whose revenue, active at `instant`, ended last."""
    best_end, kind = -1, None
    for segment in sim.segments:
        if segment.live and segment.start <= instant < segment.end and segment.end > best_end:
            state = sim.subs[segment.subscription][1]
            best_end, kind = segment.end, state.kind
    return kind or "voluntary"

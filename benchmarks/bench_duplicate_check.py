"""What refusing exact duplicate ledger rows costs: a 1M-row Parquet ledger loaded with the
check (the default) and without it (`ledger_allow_duplicate_rows`), alternately.

Usage: python benchmarks/bench_duplicate_check.py [ROWS] [REPEAT]
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

import duckdb

from nrr.sources.ledger import LedgerRules, load_ledger


def main(rows: int = 1_000_000, repeat: int = 3) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        ledger = Path(scratch) / "ledger.parquet"
        duckdb.connect().execute(
            f"""copy (select 'cus_' || i as customer_id,
                       date '2020-01-01' + (i % 1000)::int as start_date, null::date as end_date,
                       (i % 997) + 10.5 as mrr, 'usd' as currency, 'p' || (i % 5) as plan
                  from range({rows}) t(i)) to '{ledger}' (format parquet)"""
        )
        seconds: dict[bool, list[float]] = {True: [], False: []}
        for _ in range(repeat):
            for allow in (True, False):
                started = time.perf_counter()
                load_ledger(duckdb.connect(), ledger, "usd",
                            rules=LedgerRules(allow_duplicate_rows=allow))  # fmt: skip
                seconds[allow].append(time.perf_counter() - started)
    without, with_check = statistics.median(seconds[True]), statistics.median(seconds[False])
    print(f"{rows:,} rows: load {without:.2f}s without the duplicate check, "
          f"{with_check:.2f}s with it (+{with_check - without:.2f}s)")  # fmt: skip


if __name__ == "__main__":
    main(*(int(arg) for arg in sys.argv[1:3]))

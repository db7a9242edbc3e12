"""Benchmark `nrr compute` against its floor, for ledgers of 10k, 100k and 1M customers.

The floor is the least any engine must do: read the same ledger file with DuckDB and
materialise customer_mrr_monthly (expand periods to month ends, sum per customer and month).
Each measurement runs in a fresh subprocess so that peak memory (max RSS) is its own. A
shared 2-core machine is noisy (the same command varies by 20% from run to run), so floor
and compute run alternately `--repeat` times and the medians are compared.

    python benchmarks/bench_compute.py [--sizes 10000 100000 1000000] [--months 60]
                                       [--repeat 3] [--foreign-share 0.2]
                                       [--write docs/benchmarks.md]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

FLOOR_SQL = """
create table customer_mrr_monthly as
with periods as (
    select customer_id, mrr,
           year(start_date) * 12 + month(start_date) - 1 as first_idx,
           least(coalesce(year(end_date) * 12 + month(end_date) - 2, {as_of_idx}), {as_of_idx})
               as last_idx
    from read_parquet('{ledger}')
    where mrr > 0
),
expanded as (
    select customer_id, mrr, unnest(range(first_idx, last_idx + 1)) as month_idx
    from periods where first_idx <= last_idx
)
select customer_id, month_idx, sum(mrr) as mrr from expanded group by all
"""


def _child(code: str, env: dict[str, str] | None = None) -> tuple[float, float]:
    """Run python code in a fresh process; return (wall seconds, peak RSS in MiB)."""
    started = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-c", code], cwd=ROOT, env={**os.environ, **(env or {})}
    )
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"benchmark child failed: {code[:200]}")
    return wall, usage.ru_maxrss / 1024


def _to_euros(ledger: Path, share: float, workdir: Path) -> dict[str, str]:
    """Bill `share` of the customers in euros, with a rate per month: the engine then values
    their spells month by month. Returns the environment naming the rates file."""
    import duckdb

    rates = workdir / "eur_rates.csv"
    source = str(ledger).replace("'", "''")
    converted = str(ledger.with_suffix(".eur.parquet")).replace("'", "''")
    duckdb.sql(
        f"""copy (select * replace (case when hash(customer_id) % 1000 < {int(share * 1000)}
                                        then 'eur' else currency end as currency)
                  from read_parquet('{source}')) to '{converted}' (format parquet)"""
    )
    Path(converted).replace(ledger)
    months = [f"{2015 + i // 12}-{i % 12 + 1:02d}" for i in range(12 * 20)]
    rates.write_text(
        "currency,rate,month\n"
        + "".join(f"eur,{1.05 + (i % 7) / 100:.2f},{m}\n" for i, m in enumerate(months))
    )
    return {"NRR_FX_RATES": str(rates)}


def measure(
    customers: int, months: int, workdir: Path, repeat: int, foreign_share: float = 0.0
) -> dict[str, object]:
    from nrr.sandbox.ledger_generator import generate_ledger, write_ledger

    first = date(2021, 1, 1)
    as_of_idx = first.year * 12 + first.month - 1 + months - 1
    as_of = f"{as_of_idx // 12:04d}-{as_of_idx % 12 + 1:02d}"
    ledger = workdir / f"ledger_{customers}.parquet"
    started = time.perf_counter()
    generated = generate_ledger(customers, months, first_month=first, seed=11, with_truth=False)
    write_ledger(generated.ledger, ledger)
    compute_env = _to_euros(ledger, foreign_share, workdir) if foreign_share else {}
    generate_seconds = time.perf_counter() - started
    rows = generated.ledger.num_rows
    del generated

    floor_db = workdir / f"floor_{customers}.duckdb"
    floor_code = (
        "import duckdb\n"
        f"con = duckdb.connect({str(floor_db)!r})\n"
        "con.execute(\"set memory_limit = '6GB'\")\n"
        'con.execute("set enable_progress_bar = false")\n'
        f"con.execute({FLOOR_SQL.format(ledger=ledger, as_of_idx=as_of_idx)!r})\n"
    )
    data_dir = workdir / f"data_{customers}"
    compute_code = (
        "import sys\nfrom nrr.cli import main\n"
        f"sys.argv = ['nrr', 'compute', '--ledger', {str(ledger)!r}, '--as-of', {as_of!r},"
        f" '--data-dir', {str(data_dir)!r}]\n"
        "try:\n    main()\nexcept SystemExit as exc:\n    raise SystemExit(exc.code or 0)\n"
    )
    floors: list[tuple[float, float]] = []
    computes: list[tuple[float, float]] = []
    customer_months = 0
    for _ in range(repeat):
        floor_db.unlink(missing_ok=True)
        floors.append(_child(floor_code))
        customer_months = _count(floor_db, "customer_mrr_monthly")
        floor_db.unlink(missing_ok=True)
        shutil.rmtree(data_dir, ignore_errors=True)
        computes.append(_child(compute_code, compute_env))
        shutil.rmtree(data_dir, ignore_errors=True)
    floor_wall = statistics.median(wall for wall, _ in floors)
    compute_wall = statistics.median(wall for wall, _ in computes)
    floor_rss = max(rss for _, rss in floors)
    compute_rss = max(rss for _, rss in computes)
    return {
        "customers": customers,
        "foreign_share": foreign_share,
        "months": months,
        "ledger_rows": rows,
        "customer_months": customer_months,
        "generate_s": round(generate_seconds, 1),
        "floor_s": round(floor_wall, 2),
        "floor_peak_mib": round(floor_rss),
        "compute_s": round(compute_wall, 2),
        "compute_peak_mib": round(compute_rss),
        "ratio": round(compute_wall / floor_wall, 2),
        "floor_runs_s": [round(wall, 2) for wall, _ in floors],
        "compute_runs_s": [round(wall, 2) for wall, _ in computes],
    }


def _count(db: Path, table: str) -> int:
    import duckdb

    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(f"select count(*) from {table}").fetchone()[0]
    finally:
        con.close()


def to_markdown(results: list[dict[str, object]]) -> str:
    header = (
        "| customers | ledger rows | customer-months | floor (s) | floor peak (MiB) "
        "| `nrr compute` (s) | compute peak (MiB) | compute / floor |\n"
        "|---:|---:|---:|---:|---:|---:|---:|---:|\n"
    )
    lines = [
        f"| {r['customers']:,} | {r['ledger_rows']:,} | {r['customer_months']:,} "
        f"| {r['floor_s']} | {r['floor_peak_mib']:,} | {r['compute_s']} "
        f"| {r['compute_peak_mib']:,} | {r['ratio']}x |"
        for r in results
    ]
    return header + "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--months", type=int, default=60)
    parser.add_argument(
        "--foreign-share",
        type=float,
        default=0.0,
        help="share of customers billed in euros (monthly rates): the several-currency path",
    )
    parser.add_argument("--repeat", type=int, default=3, help="runs of each, medians compared")
    parser.add_argument("--write", type=Path, help="also append the table to this markdown file")
    args = parser.parse_args()
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    results = []
    with tempfile.TemporaryDirectory(prefix="nrr-bench-") as tmp:
        for size in args.sizes:
            result = measure(size, args.months, Path(tmp), args.repeat, args.foreign_share)
            print(json.dumps(result), flush=True)
            results.append(result)
    table = to_markdown(results)
    machine = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    print(f"\n{machine}\n\n{table}")
    if args.write:
        with args.write.open("a") as handle:
            handle.write(f"\n### `nrr compute` vs floor ({date.today()}, {machine})\n\n{table}")


if __name__ == "__main__":
    main()

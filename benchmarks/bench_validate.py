"""Benchmark the validation gates on a Stripe lake of 10 million invoice lines, against
computing the metrics from the same lake.

The lake: a synthetic account (sandbox generator) extracted with the real client from the
local Stripe server, then replicated k times with renamed ids (customers, subscriptions,
invoices, lines, discounts, credit notes; the catalog is shared) until it holds the wanted
number of invoice lines. Each measurement runs in a fresh subprocess, so its peak memory
(max RSS) is its own.

    python benchmarks/bench_validate.py [--lines 10000000] [--customers 2000] [--months 36]
                                        [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

FIRST_MONTH = date(2022, 1, 1)
SHARED = ("products", "prices", "coupons")
# dataset -> id columns renamed per replica (so every replica is a distinct customer base)
REPLICATED = {
    "customers": ("id",),
    "subscriptions": ("id", "customer_id"),
    "invoices": ("id", "customer_id", "subscription_id"),
    "invoice_lines": (
        "id", "invoice_id", "customer_id", "subscription_id", "subscription_item_id",
        "invoice_item_id",
    ),
    "discounts": ("id", "customer_id", "subscription_id", "subscription_item_id", "invoice_id"),
    "credit_notes": ("id", "customer_id", "invoice_id"),
}  # fmt: skip


def build_base(workdir: Path, customers: int, months: int, seed: int) -> tuple[Path, date]:
    """Generate an account and extract it from the local Stripe server; return (dir, as_of)."""
    from nrr.sandbox.stripe_generator import generate_account
    from nrr.sandbox.stripe_server import serve
    from nrr.settings import Settings
    from nrr.stripe_source.extract import extract

    account = generate_account(customers, months, first_month=FIRST_MONTH, seed=seed)
    base = workdir / "base"
    base.mkdir(parents=True, exist_ok=True)
    account.write_fx_rates(base / "fx.csv")
    with serve(account, port=0, api_key="sk_test_local") as server:
        extract(
            Settings(data_dir=base, stripe_api_key="sk_test_local", stripe_api_base=server.url),
            full=True,
        )
    last = FIRST_MONTH.year * 12 + FIRST_MONTH.month - 1 + months - 1
    return base, date(last // 12, last % 12 + 1, 1)


def replicate(base: Path, target: Path, lines: int) -> tuple[int, dict[str, int]]:
    """Copy the base lake k times with renamed ids until it has >= `lines` invoice lines
    (whole replicas only: every invoice keeps all its lines)."""
    import duckdb

    source, lake = base / "lake" / "stripe", target / "lake" / "stripe"
    lake.mkdir(parents=True, exist_ok=True)
    shutil.copy(base / "fx.csv", target / "fx.csv")
    shutil.copy(source / "_state.json", lake / "_state.json")
    con = duckdb.connect()
    con.execute("set preserve_insertion_order = false")
    con.execute("set memory_limit = '4GB'")
    base_lines = con.execute(
        f"select count(*) from read_parquet('{source / 'invoice_lines.parquet'}')"
    ).fetchall()[0][0]
    factor = math.ceil(lines / base_lines)
    counts: dict[str, int] = {}
    for name in SHARED:
        shutil.copy(source / f"{name}.parquet", lake / f"{name}.parquet")
    for name, ids in REPLICATED.items():
        path = source / f"{name}.parquet"
        if not path.exists():
            continue
        renamed = ", ".join(f"{c} || '_r' || r.r as {c}" for c in ids)
        query = (
            f"select * replace ({renamed}) from read_parquet('{path}') "
            f"cross join range({factor}) as r(r)"
        )
        con.execute(
            f"copy ({_with_deleted_stubs(name, query, source, factor)}) to "
            f"'{lake / f'{name}.parquet'}' (format parquet, compression zstd)"
        )
        counts[name] = con.execute(
            f"select count(*) from read_parquet('{lake / f'{name}.parquet'}')"
        ).fetchall()[0][0]
    con.close()
    return factor, counts


def _with_deleted_stubs(name: str, query: str, source: Path, factor: int) -> str:
    """Deleted customers are missing from a full extraction (Stripe lists only live ones);
    add the stub row the extractor should keep ({id, deleted}) so the lake is consistent."""
    if name != "customers":
        return query
    referenced = f"""
        select distinct s.customer_id as id
        from read_parquet('{source / "subscriptions.parquet"}') as s
        where s.customer_id not in (
            select id from read_parquet('{source / "customers.parquet"}'))
    """
    stubs = f"""
        select id || '_r' || r.r as id, true as deleted
        from ({referenced}) cross join range({factor}) as r(r)
    """
    return f"{query} union all by name {stubs}"


def child(code: str) -> tuple[float, float]:
    """Run python code in a fresh process; return (wall seconds, peak RSS in MiB)."""
    started = time.perf_counter()
    # stdout holds DuckDB's progress bars; errors still reach stderr
    proc = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"benchmark child failed: {code[:300]}")
    return wall, usage.ru_maxrss / 1024


PRELUDE = """
import json, sys, time
from datetime import date
from pathlib import Path
sys.path.insert(0, {root!r})
from nrr.settings import Settings
data = Path({data!r})
settings = Settings(data_dir=data, fx_rates_path=data / "fx.csv")
as_of = date.fromisoformat({as_of!r})
"""

VALIDATE_INPUTS = """
from nrr.expectations.gates import validate_inputs
from nrr.expectations.report import CloseStats
previous = CloseStats.from_dict(json.loads({previous!r}))
report = validate_inputs(settings, as_of=as_of, ledger_path=None, previous=previous)
Path({out!r}).write_text(json.dumps(report.to_dict(), default=str))
"""

COMPUTE = """
from nrr.compute import compute
result = compute(settings, as_of)
Path({out!r}).write_text(json.dumps({{"seconds": result.seconds, "rows": result.ledger_rows}}))
"""

VALIDATE_OUTPUTS = """
from nrr.expectations.gates import validate_outputs
from nrr.warehouse import read_warehouse
con = read_warehouse(settings)
report = validate_outputs(con, settings, as_of=as_of, previous=None)
Path({out!r}).write_text(json.dumps(report.to_dict(), default=str))
"""


def run(code: str, data: Path, as_of: date, **fields: object) -> tuple[float, float, dict]:
    out = data / f"_bench_{time.time_ns()}.json"
    prelude = PRELUDE.format(root=str(ROOT), data=str(data), as_of=as_of.isoformat())
    wall, rss = child(prelude + code.format(out=str(out), **fields))
    result = json.loads(out.read_text())
    out.unlink()
    return wall, rss, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=10_000_000)
    parser.add_argument("--customers", type=int, default=2000)
    parser.add_argument("--months", type=int, default=36)
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--skip-compute", action="store_true")
    parser.add_argument("--keep", type=Path, help="work directory to keep (default: a temp dir)")
    parser.add_argument("--reuse", action="store_true", help="reuse the lake built in --keep")
    parser.add_argument("--build-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()

    workdir = args.keep or Path(tempfile.mkdtemp(prefix="bench_validate_"))
    data = workdir / "lake"
    if args.build_only:  # in its own process, so the measured children start small
        started = time.perf_counter()
        base, as_of = build_base(workdir, args.customers, args.months, args.seed)
        if data.exists():
            shutil.rmtree(data)
        factor, counts = replicate(base, data, args.lines)
        info = {"as_of": as_of.isoformat(), "factor": factor, "counts": counts,
                "seconds": time.perf_counter() - started}  # fmt: skip
        (workdir / "lake.json").write_text(json.dumps(info))
        return
    build = [sys.executable, __file__, "--build-only", "--keep", str(workdir),
             "--lines", str(args.lines), "--customers", str(args.customers),
             "--months", str(args.months), "--seed", str(args.seed)]  # fmt: skip
    if not (args.reuse and (workdir / "lake.json").exists()):
        subprocess.run(build, check=True)
    info = json.loads((workdir / "lake.json").read_text())
    as_of, factor, counts = date.fromisoformat(info["as_of"]), info["factor"], info["counts"]
    print(f"lake: {factor} replicas of {args.customers} customers; {counts} "
          f"(built in {info['seconds']:.0f}s)", flush=True)  # fmt: skip
    previous = json.dumps({"period": as_of.isoformat(), "row_counts": counts, "total_mrr": None})

    rows = []
    wall, rss, report = run(VALIDATE_INPUTS, data, as_of, previous=previous)
    rows.append(("validate inputs (lake)", wall, rss, report))
    print(_line(rows[-1]), flush=True)
    if not args.skip_compute:
        wall, rss, result = run(COMPUTE, data, as_of)
        rows.append(("compute (ledger_from_lake + metrics)", wall, rss, result))
        print(_line(rows[-1]), flush=True)
        wall, rss, report = run(VALIDATE_OUTPUTS, data, as_of)
        rows.append(("validate outputs (warehouse)", wall, rss, report))
        print(_line(rows[-1]), flush=True)

    print()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python "
          f"{platform.python_version()}; invoice lines: {counts['invoice_lines']:,}")  # fmt: skip
    print("| step | wall (s) | peak RSS (MiB) | checks | failed (critical) |")
    print("|---|---:|---:|---:|---|")
    for label, wall, rss, result in rows:
        checks = result.get("checks", "")
        failed = f"{result['failed']} ({result['critical_failures']})" if "failed" in result else ""
        print(f"| {label} | {wall:.1f} | {rss:,.0f} | {checks} | {failed} |")
    if args.keep is None:
        shutil.rmtree(workdir, ignore_errors=True)


def _line(row) -> str:
    label, wall, rss, result = row
    extra = ""
    if "results" in result:
        failures = [f"{r['dataset']}: {r['description']}" for r in result["results"]
                    if not r["success"]]  # fmt: skip
        extra = f"; failed: {failures}" if failures else "; all checks pass"
    return f"{label}: {wall:.1f}s, {rss:,.0f} MiB{extra}"


if __name__ == "__main__":
    main()

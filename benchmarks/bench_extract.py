"""Benchmark `nrr extract` against a local Stripe that enforces a request-rate ceiling.

The local Stripe-compatible server runs in its own process (as Stripe is another machine)
with `--rate-limit R`: above R requests per second it answers 429 like Stripe's limiter.
The extractor is set to the same ceiling (NRR_STRIPE_MAX_RPS = R) and its default
concurrency. Reported: requests/s as a share of the ceiling (target >= 90%), objects/s,
429s received, and the whole run's wall time (planning, listing, commit).

    python benchmarks/bench_extract.py [--customers 1500] [--months 36]
                                       [--ceilings 25 100] [--write docs/stripe.md]
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

MARKER_START = "<!-- bench_extract:start -->"
MARKER_END = "<!-- bench_extract:end -->"


def start_server(
    customers: int, months: int, seed: int, ceiling: float
) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "sandbox.stripe_server", "--customers", str(customers),
         "--months", str(months), "--seed", str(seed), "--port", "0",
         "--rate-limit", str(ceiling)],
        cwd=ROOT, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert proc.stdout is not None
    for line in proc.stdout:
        found = re.search(r"serving at (http://\S+)", line)
        if found:
            return proc, found.group(1)
    raise SystemExit("the local Stripe did not start")


def measure(customers: int, months: int, seed: int, ceiling: float, concurrency: int) -> dict:
    from nrr.settings import Settings
    from nrr.stripe_source.extract import extract

    proc, url = start_server(customers, months, seed, ceiling)
    workdir = Path(tempfile.mkdtemp(prefix="bench_extract_"))
    try:
        time.sleep(1.5)  # let the server's token bucket fill: no head start from a burst
        settings = Settings(
            data_dir=workdir, stripe_api_key="sk_test_local", stripe_api_base=url,
            stripe_max_requests_per_second=ceiling, stripe_concurrency=concurrency,
        )  # fmt: skip
        result = extract(settings)
    finally:
        proc.terminate()
        proc.wait(10)
        shutil.rmtree(workdir, ignore_errors=True)
    objects = sum(result.rows.values())
    return {
        "ceiling": ceiling,
        "concurrency": concurrency,
        "requests": result.requests,
        "retries": result.retries,
        "seconds": result.seconds,
        "requests_per_second": result.requests_per_second,
        "share": result.requests_per_second / ceiling,
        "objects": objects,
        "objects_per_second": objects / result.seconds,
        "rows": result.rows,
    }


def table(results: list[dict], customers: int, months: int) -> str:
    machine = f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}"
    first = results[0]["rows"]
    lines = [
        MARKER_START,
        f"Account: {customers:,} customers over {months} months "
        f"({first['invoices']:,} invoices, {first['invoice_lines']:,} lines, "
        f"{first['subscriptions']:,} subscriptions); {machine}; server in its own process.",
        "",
        "| ceiling (req/s) | concurrency | requests | 429s retried | seconds | req/s | share of ceiling | objects/s |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        lines.append(
            f"| {r['ceiling']:g} | {r['concurrency']} | {r['requests']:,} | {r['retries']:,} | "
            f"{r['seconds']:.1f} | {r['requests_per_second']:.1f} | {r['share']:.0%} | "
            f"{r['objects_per_second']:,.0f} |"
        )
    lines.append(MARKER_END)
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1500)
    parser.add_argument("--months", type=int, default=36)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--ceilings", type=float, nargs="+", default=[25.0, 100.0])
    parser.add_argument("--concurrency", type=int, default=None, help="default: the setting's")
    parser.add_argument("--write", type=Path, default=None, help="update the table in this file")
    args = parser.parse_args()
    from nrr.settings import Settings

    concurrency = args.concurrency or Settings().stripe_concurrency
    results = []
    for ceiling in args.ceilings:
        result = measure(args.customers, args.months, args.seed, ceiling, concurrency)
        print(
            f"ceiling {ceiling:g}/s: {result['requests']:,} requests in {result['seconds']:.1f}s "
            f"= {result['requests_per_second']:.1f}/s ({result['share']:.0%} of the ceiling), "
            f"{result['objects_per_second']:,.0f} objects/s, {result['retries']} retried",
            flush=True,
        )
        results.append(result)
    text = table(results, args.customers, args.months)
    print(text)
    if args.write:
        doc = args.write.read_text("utf-8")
        if MARKER_START in doc:
            head, rest = doc.split(MARKER_START, 1)
            doc = head + text + rest.split(MARKER_END, 1)[1]
        else:
            doc += "\n" + text + "\n"
        args.write.write_text(doc, "utf-8")


if __name__ == "__main__":
    main()

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
import contextlib
import os
import platform
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

MARKER_START = "<!-- bench_extract:start -->"
MARKER_END = "<!-- bench_extract:end -->"


def start_server(
    customers: int, months: int, seed: int, ceiling: float | None
) -> tuple[subprocess.Popen, str]:
    limit = ["--rate-limit", str(ceiling)] if ceiling else []
    proc = subprocess.Popen(
        [sys.executable, "-m", "nrr.sandbox.stripe_server", "--customers", str(customers),
         "--months", str(months), "--seed", str(seed), "--port", "0", *limit],
        cwd=ROOT, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert proc.stdout is not None
    for line in proc.stdout:
        found = re.search(r"serving at (http://\S+)", line)
        if found:
            return proc, found.group(1)
    raise SystemExit("the local Stripe did not start")


def own_cpu() -> float:
    """CPU of this process and of its finished children (the extractor's worker processes)."""
    me, children = (
        resource.getrusage(resource.RUSAGE_SELF),
        resource.getrusage(resource.RUSAGE_CHILDREN),
    )
    return me.ru_utime + me.ru_stime + children.ru_utime + children.ru_stime


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextlib.contextmanager
def recording():
    """Note every request the extractor sends: (path, params)."""
    from nrr.stripe_source.client import StripeApi

    sent: list[tuple[str, dict]] = []
    original = StripeApi.get

    def get(self, what, path, params=None):
        sent.append((path, dict(params or {})))
        return original(self, what, path, params)

    StripeApi.get = get
    try:
        yield sent
    finally:
        StripeApi.get = original


def replay(url: str, sent: list[tuple[str, dict]], concurrency: int) -> float:
    """Requests/s of the official client alone sending the same requests (no processing)."""
    import stripe

    client = stripe.StripeClient(
        "sk_test_local", base_addresses={"api": url}, http_client=stripe.RequestsClient()
    )
    queue = list(sent)
    lock = threading.Lock()

    def work() -> None:
        while True:
            with lock:
                if not queue:
                    return
                path, params = queue.pop()
            client.raw_request("get", path, **params)

    started = time.perf_counter()
    threads = [threading.Thread(target=work) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return len(sent) / (time.perf_counter() - started)


def measure(
    customers: int, months: int, seed: int, ceiling: float | None, concurrency: int
) -> dict:
    from nrr.settings import Settings
    from nrr.stripe_source.extract import extract

    proc, url = start_server(customers, months, seed, ceiling)
    workdir = Path(tempfile.mkdtemp(prefix="bench_extract_"))
    try:
        time.sleep(1.5)  # let the server's token bucket fill: no head start from a burst
        settings = Settings(
            data_dir=workdir, stripe_api_key="sk_test_local", stripe_api_base=url,
            stripe_max_requests_per_second=ceiling or 100_000, stripe_concurrency=concurrency,
        )  # fmt: skip
        server_cpu = cpu_seconds(proc.pid)
        client_cpu = own_cpu()
        with recording() as sent:
            result = extract(settings)
        client_cpu = own_cpu() - client_cpu
        server_cpu = cpu_seconds(proc.pid) - server_cpu
        floor = replay(url, sent, concurrency) if ceiling is None else None
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
        "request_seconds": result.request_seconds,
        "requests_per_second": result.requests_per_second,
        "share": result.requests_per_second / ceiling if ceiling else None,
        "client_cpu": client_cpu,
        "floor": floor,
        "server_cpu": server_cpu,
        "objects": objects,
        "objects_per_second": objects / result.request_seconds,
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
        "| ceiling (req/s) | concurrency | requests | 429s retried | requesting (s) "
        "| whole run (s) | req/s | share of ceiling | objects/s | CPU s: extractor / server |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        lines.append(
            f"| {format(r['ceiling'], 'g') if r['ceiling'] else 'none'} | {r['concurrency']} | "
            f"{r['requests']:,} | "
            f"{r['retries']:,} | {r['request_seconds']:.1f} | {r['seconds']:.1f} | "
            f"{r['requests_per_second']:.1f} | "
            f"{'-' if r['share'] is None else format(r['share'], '.0%')} | "
            f"{r['objects_per_second']:,.0f} | {r['client_cpu']:.1f} / {r['server_cpu']:.1f} |"
        )
    floors = [r["floor"] for r in results if r.get("floor")]
    if floors:
        lines += [
            "",
            f"For scale: the official `stripe` client alone, sending the same requests with "
            f"the same concurrency and doing nothing with the answers, manages "
            f"{floors[0]:.0f} req/s against this server (its pages already rendered once) "
            "on this machine.",
        ]
    lines.append(MARKER_END)
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1500)
    parser.add_argument("--months", type=int, default=36)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--ceilings", type=float, nargs="+", default=[25.0, 100.0, 0.0],
        help="requests/second; 0 = no ceiling (what server and extractor manage at most)",
    )  # fmt: skip
    parser.add_argument("--concurrency", type=int, default=None, help="default: the setting's")
    parser.add_argument("--write", type=Path, default=None, help="update the table in this file")
    args = parser.parse_args()
    from nrr.settings import Settings

    concurrency = args.concurrency or Settings().stripe_concurrency
    results = []
    for ceiling in args.ceilings:
        result = measure(args.customers, args.months, args.seed, ceiling or None, concurrency)
        share = "no ceiling" if not ceiling else f"{result['share']:.0%} of the ceiling"
        print(
            f"ceiling {ceiling:g}/s: {result['requests']:,} requests in "
            f"{result['request_seconds']:.1f}s (run {result['seconds']:.1f}s) "
            f"= {result['requests_per_second']:.1f}/s ({share}), "
            f"{result['objects_per_second']:,.0f} objects/s, {result['retries']} retried, "
            f"CPU {result['client_cpu']:.1f}s extractor / {result['server_cpu']:.1f}s server"
            + (f"; client alone: {result['floor']:.1f} req/s" if result["floor"] else ""),
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

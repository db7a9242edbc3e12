"""The monthly close against the compute it publishes, and a backfill against its chunks.

For each size (default 10k, 100k and 1M customers, 60 months, the generator of
bench_compute.py), `nrr compute` and `nrr close --no-notify` run alternately `--repeat`
times, each in a fresh process (its own peak memory, max RSS; Prefect's ephemeral API
starts inside the close, as it does for a user). The close's log gives each step's time:
start-up until the flow begins, then each task until it finishes (whatever the flow does
between two tasks counts for the later one), then the shutdown. Medians are compared: the
machine is shared and noisy. Targets (issue 20): at 1M customers the close within 2x of
the compute, its peak within the compute's + 1 GiB.

`--backfill 100000` also runs `nrr backfill` over all 60 months of a ledger that size
against one compute per chunk of months (`NRR_BACKFILL_MONTHS_PER_TASK`, 6 by default):
target within 3x.

    python benchmarks/bench_close.py [--sizes 10000 100000 1000000] [--repeat 3]
                                     [--backfill 100000] [--write docs/benchmarks.md]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

FIRST = date(2021, 1, 1)
STEPS = ("validate-inputs", "compute-close", "validate-outputs", "load-warehouse",
         "publish-snapshot", "build-report", "publish-artifacts")  # fmt: skip
LOG_LINE = re.compile(r"^(\d\d:\d\d:\d\d\.\d{3}) \| \w+ +\| (.*)$")


def run(args: list[str], env: dict[str, str]) -> tuple[float, float, str, float]:
    """(wall seconds, peak RSS MiB, combined output, start as epoch seconds)."""
    started_epoch = time.time()
    started = time.perf_counter()
    with tempfile.TemporaryFile("w+") as out:
        proc = subprocess.Popen(args, cwd=ROOT, env={**os.environ, **env}, stdout=out,
                                stderr=subprocess.STDOUT, text=True)  # fmt: skip
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - started
        out.seek(0)
        text = out.read()
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(args[:4])} failed:\n{text[-3000:]}")
    return wall, usage.ru_maxrss / 1024, text, started_epoch


def close_steps(log: str, started_epoch: float, wall: float) -> dict[str, float]:
    """Seconds per step from the close's log (Prefect's HH:MM:SS.mmm, local time)."""
    day = datetime.fromtimestamp(started_epoch).date()
    events: list[tuple[str, float]] = []
    for line in log.splitlines():
        match = LOG_LINE.match(line)
        if not match:
            continue
        moment = datetime.combine(day, datetime.strptime(match[1], "%H:%M:%S.%f").time())
        text = match[2]
        if "Beginning flow run" in text:
            events.append(("start-up", moment.timestamp()))
        for step in STEPS:
            if f"Task run '{step}-" in text and "Finished in state" in text:
                events.append((step, moment.timestamp()))
    steps: dict[str, float] = {}
    previous = started_epoch
    for name, moment in events:
        steps[name] = round(steps.get(name, 0.0) + moment - previous, 2)
        previous = moment
    steps["shutdown"] = round(started_epoch + wall - previous, 2)
    return steps


def ledger_for(customers: int, months: int, workdir: Path) -> tuple[Path, str, int]:
    """Generate the ledger in a child process: a parent grown by it would pass its resident
    size on to every measured child it forks (max RSS counts the pages before exec)."""
    path = workdir / f"ledger_{customers}.parquet"
    code = (
        "import sys\nfrom datetime import date\nfrom pathlib import Path\n"
        "from nrr.sandbox.ledger_generator import generate_ledger, write_ledger\n"
        f"g = generate_ledger({customers}, {months}, first_month=date({FIRST.year}, "
        f"{FIRST.month}, 1), seed=11, with_truth=False)\n"
        f"write_ledger(g.ledger, Path({str(path)!r}))\nprint(g.ledger.num_rows)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                          text=True, check=True)  # fmt: skip
    last = FIRST.year * 12 + FIRST.month - 1 + months - 1
    return path, f"{last // 12:04d}-{last % 12 + 1:02d}", int(done.stdout.split()[-1])


def prefect_env(workdir: Path) -> dict[str, str]:
    """A Prefect home of the benchmark's own, with room for a slow start on a loaded machine."""
    return {
        "PREFECT_HOME": str(workdir / "prefect"),
        "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "300",
    }


def warm_up(workdir: Path) -> None:
    """One small close first: a fresh Prefect home creates its database (once per user)."""
    ledger, month, _ = ledger_for(100, 3, workdir)
    run([sys.executable, "-m", "nrr.cli", "close", "--month", month, "--ledger", str(ledger),
         "--no-notify", "--data-dir", str(workdir / "warm-up")], prefect_env(workdir))  # fmt: skip
    shutil.rmtree(workdir / "warm-up", ignore_errors=True)


def measure_close(customers: int, months: int, repeat: int, workdir: Path) -> dict[str, object]:
    ledger, month, rows = ledger_for(customers, months, workdir)
    env = prefect_env(workdir)
    nrr = [sys.executable, "-m", "nrr.cli"]
    computes, closes, steps = [], [], []
    for i in range(repeat):
        data = workdir / f"run_{customers}_{i}"
        wall, rss, _, _ = run([*nrr, "compute", "--ledger", str(ledger), "--as-of", month,
                               "--data-dir", str(data / "compute")], env)  # fmt: skip
        computes.append((wall, rss))
        close = [*nrr, "close", "--month", month, "--ledger", str(ledger), "--no-notify"]
        wall, rss, log, started = run([*close, "--data-dir", str(data / "close")], env)
        closes.append((wall, rss))
        steps.append(close_steps(log, started, wall))
        shutil.rmtree(data, ignore_errors=True)
    compute_s = statistics.median(w for w, _ in computes)
    close_s = statistics.median(w for w, _ in closes)
    names = list(dict.fromkeys(name for run_steps in steps for name in run_steps))
    median_steps = {n: round(statistics.median(s.get(n, 0.0) for s in steps), 2) for n in names}
    return {
        "customers": customers,
        "months": months,
        "ledger_rows": rows,
        "compute_s": round(compute_s, 2),
        "compute_peak_mib": round(max(r for _, r in computes)),
        "close_s": round(close_s, 2),
        "close_peak_mib": round(max(r for _, r in closes)),
        "ratio": round(close_s / compute_s, 2),
        "steps_s": median_steps,
        "compute_runs_s": [round(w, 2) for w, _ in computes],
        "close_runs_s": [round(w, 2) for w, _ in closes],
    }


def measure_backfill(customers: int, months: int, workdir: Path) -> dict[str, object]:
    from nrr.settings import Settings

    ledger, month, _ = ledger_for(customers, months, workdir)
    first = f"{FIRST:%Y-%m}"
    env = prefect_env(workdir)
    nrr = [sys.executable, "-m", "nrr.cli"]
    data = workdir / f"backfill_{customers}"
    compute_s, _, _, _ = run([*nrr, "compute", "--ledger", str(ledger), "--as-of", month,
                              "--data-dir", str(data / "compute")], env)  # fmt: skip
    # the generated ledger's first months double (a young company): confirm them
    wall, rss, _, _ = run([*nrr, "backfill", "--from", first, "--to", month, "--ledger",
                           str(ledger), "--data-dir", str(data / "backfill"),
                           "--confirm-implausible"], env)  # fmt: skip
    per_task = Settings(data_dir=data).backfill_months_per_task
    chunks = math.ceil(months / per_task)
    shutil.rmtree(data, ignore_errors=True)
    return {
        "customers": customers,
        "months": months,
        "months_per_task": per_task,
        "chunks": chunks,
        "compute_s": round(compute_s, 2),
        "backfill_s": round(wall, 2),
        "backfill_peak_mib": round(rss),
        "ratio_to_compute_per_chunk": round(wall / (chunks * compute_s), 2),
    }


def to_markdown(results: list[dict[str, object]]) -> str:
    lines = [
        "| customers | `nrr compute` (s) | compute peak (MiB) | `nrr close` (s) "
        "| close peak (MiB) | close / compute | peak − compute peak (MiB) |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        lines.append(
            f"| {r['customers']:,} | {r['compute_s']} | {r['compute_peak_mib']:,} "
            f"| {r['close_s']} | {r['close_peak_mib']:,} | {r['ratio']}x "
            f"| {r['close_peak_mib'] - r['compute_peak_mib']:+,} |"
        )
    names = list(dict.fromkeys(n for r in results for n in r["steps_s"]))
    lines += ["", "Each step of the close (seconds, and share of the close):", ""]
    lines.append("| step | " + " | ".join(f"{r['customers']:,}" for r in results) + " |")
    lines.append("|---|" + "---:|" * len(results))
    for name in names:
        cells = []
        for r in results:
            seconds = r["steps_s"].get(name, 0.0)
            cells.append(f"{seconds:.2f} ({100 * seconds / r['close_s']:.0f}%)")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="*", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--months", type=int, default=60)
    parser.add_argument("--repeat", type=int, default=3, help="alternating runs of each")
    parser.add_argument("--backfill", type=int, nargs="*", default=[100_000],
                        help="customers of the backfill benchmark (none: skip it)")  # fmt: skip
    parser.add_argument("--write", type=Path, help="also append the tables to this file")
    args = parser.parse_args()
    results, backfills = [], []
    with tempfile.TemporaryDirectory(prefix="nrr-bench-close-") as tmp:
        warm_up(Path(tmp))
        for size in args.sizes:
            result = measure_close(size, args.months, args.repeat, Path(tmp))
            print(json.dumps(result), flush=True)
            results.append(result)
        for size in args.backfill:
            backfill = measure_backfill(size, args.months, Path(tmp))
            print(json.dumps(backfill), flush=True)
            backfills.append(backfill)
    text = to_markdown(results) if results else ""
    for b in backfills:
        text += (
            f"\nBackfill of {b['months']} months at {b['customers']:,} customers: "
            f"{b['backfill_s']} s (peak {b['backfill_peak_mib']:,} MiB) against "
            f"{b['chunks']} chunks × `nrr compute` {b['compute_s']} s = "
            f"{b['ratio_to_compute_per_chunk']}x\n"
        )
    print(f"\n{text}")
    if args.write:
        with args.write.open("a") as handle:
            handle.write(f"\n### Close vs compute ({date.today()})\n\n{text}")


if __name__ == "__main__":
    main()

"""How much time Prefect (and the close's extra steps) add to a plain `nrr compute`.

Same small ledger, three measurements:
  1. `nrr compute` (no Prefect at all);
  2. `nrr close --no-notify` in a fresh process, Prefect in ephemeral mode (its temporary
     API server starts inside the command);
  3. a second close in a process whose Prefect API is already up (what a served deployment
     or a Prefect server pays per close).

    python benchmarks/bench_close.py [--customers 2000] [--months 36] [--write docs/benchmarks.md]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

WARM = """
import sys, time
from nrr.flows.monthly_close import monthly_close
ledger, data = sys.argv[1], sys.argv[2]
monthly_close(month="{month}", ledger=ledger, data_dir=data + "/a", notify=False)
started = time.perf_counter()
monthly_close(month="{month}", ledger=ledger, data_dir=data + "/b", notify=False)
print("WARM", time.perf_counter() - started)
"""


def timed(args: list[str], env: dict[str, str] | None = None) -> tuple[float, str]:
    started = time.perf_counter()
    done = subprocess.run(args, capture_output=True, text=True, cwd=ROOT,
                          env={**os.environ, **(env or {})})  # fmt: skip
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(args[:5])} failed:\n{done.stderr[-3000:]}")
    return time.perf_counter() - started, done.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=2000)
    parser.add_argument("--months", type=int, default=36)
    parser.add_argument("--write", type=Path)
    args = parser.parse_args()
    from nrr.sandbox.ledger_generator import generate_ledger, write_ledger

    first = date(2022, 1, 1)
    last_idx = first.year * 12 + args.months - 1
    month = f"{last_idx // 12}-{last_idx % 12 + 1:02d}"
    nrr = [sys.executable, "-m", "nrr.cli"]
    with tempfile.TemporaryDirectory(prefix="nrr-bench-close-") as tmp:
        ledger = Path(tmp) / "ledger.csv"
        write_ledger(generate_ledger(args.customers, args.months, first_month=first).ledger,
                     ledger)  # fmt: skip
        env = {"PREFECT_HOME": str(Path(tmp) / "prefect")}
        compute_s, _ = timed([*nrr, "compute", "--ledger", str(ledger), "--as-of", month,
                              "--data-dir", f"{tmp}/compute"])  # fmt: skip
        timed(
            [
                *nrr,
                "close",
                "--month",
                month,
                "--ledger",
                str(ledger),
                "--no-notify",
                "--data-dir",
                f"{tmp}/warmup",
            ],
            env,
        )  # first start of a fresh PREFECT_HOME
        close_s, _ = timed([*nrr, "close", "--month", month, "--ledger", str(ledger),
                            "--no-notify", "--data-dir", f"{tmp}/close"], env)  # fmt: skip
        _, out = timed([sys.executable, "-c", WARM.format(month=month), str(ledger), tmp], env)
        warm_s = float(out.split("WARM")[-1])
    table = (
        "| measurement | seconds |\n|---|---:|\n"
        f"| `nrr compute` ({args.customers:,} customers, {args.months} months) "
        f"| {compute_s:.1f} |\n"
        f"| `nrr close --no-notify`, ephemeral Prefect (fresh process) | {close_s:.1f} |\n"
        f"| close in a process whose Prefect API is up | {warm_s:.1f} |\n"
        f"| added by the close in a fresh process | {close_s - compute_s:+.1f} |\n"
        f"| added by the close with Prefect already up | {warm_s - compute_s:+.1f} |\n"
    )
    print(table)
    if args.write:
        with args.write.open("a") as handle:
            handle.write(f"\n### Close vs compute ({date.today()})\n\n{table}")


if __name__ == "__main__":
    main()

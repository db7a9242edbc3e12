"""Benchmark what a close adds for Slack: summary build, charts, HTML report, delivery.

Computes a warehouse from a generated ledger once, then times each step of the notifier on
it: reading the figures (build_close_summary), rendering the Block Kit summary, drawing the
two Slack charts, writing the HTML report, and a whole notify_close into the outbox and into
the local Slack server (real slack_sdk, files_upload_v2 included), plus a second, idempotent
notify_close that must post nothing.

    python benchmarks/bench_slack.py [--customers 5000] [--months 36] [--repeat 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def timed(fn, repeat: int) -> tuple[float, object]:
    runs, result = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        result = fn()
        runs.append(time.perf_counter() - started)
    return statistics.median(runs), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=5000)
    parser.add_argument("--months", type=int, default=36)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    import duckdb

    from nrr.compute import compute
    from nrr.reporting.charts import cohort_heatmap, trend_chart
    from nrr.reporting.html import write_html_report
    from nrr.sandbox.ledger_generator import generate_ledger, write_ledger
    from nrr.sandbox.slack_server import DEFAULT_TOKEN, SlackServer
    from nrr.settings import Settings
    from nrr.slack.blocks import render_summary
    from nrr.slack.service import build_close_summary, notify_close

    first = date(2022, 1, 1)
    index = first.year * 12 + args.months - 1
    period = date(index // 12, index % 12 + 1, 1)
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp)
        ledger = write_ledger(
            generate_ledger(args.customers, args.months, first_month=first, seed=7).ledger,
            data / "ledger.parquet",
        )
        settings = Settings(_env_file=None, data_dir=data)
        compute(settings, period, ledger)
        con = duckdb.connect(str(settings.warehouse_path), read_only=True)

        def build():
            return build_close_summary(
                con, settings, period, snapshot_id="bench", snapshot_version=1
            )

        rows = {}
        rows["build_close_summary (figures + cohort matrix)"], summary = timed(build, args.repeat)
        rows["render Block Kit summary"], _ = timed(lambda: render_summary(summary), args.repeat)
        rows["trend chart PNG"], _ = timed(
            lambda: trend_chart(summary.figures, data / "t.png"), args.repeat
        )
        rows["cohort heatmap PNG"], _ = timed(
            lambda: cohort_heatmap(summary.cohort_matrix, period, data / "h.png"), args.repeat
        )
        rows["HTML report (3 charts embedded)"], _ = timed(
            lambda: write_html_report(settings, summary), args.repeat
        )

        def outbox_close(i=iter(range(10**6))):
            run = Settings(_env_file=None, data_dir=data / f"outbox{next(i)}")
            return notify_close(run, build())

        rows["notify_close to the outbox (first send)"], _ = timed(outbox_close, args.repeat)
        with SlackServer() as slack:
            counter = iter(range(10**6))

            def bot_settings():
                return Settings(
                    _env_file=None,
                    data_dir=data / f"bot{next(counter)}",
                    slack_bot_token=DEFAULT_TOKEN,
                    slack_channel="C0FINANCE1",
                    slack_api_base=slack.api_base,
                )

            rows["notify_close via bot token, local server (first send)"], _ = timed(
                lambda: notify_close(bot_settings(), build()), args.repeat
            )
            again = bot_settings()
            notify_close(again, build())
            posted = len(slack.posted)
            rows["notify_close again (idempotent, posts nothing)"], _ = timed(
                lambda: notify_close(again, build()), args.repeat
            )
            assert len(slack.posted) == posted, "a re-run posted again"
        con.close()

    print(f"{args.customers:,} customers, {args.months} months, median of {args.repeat}")
    print("| step | seconds |\n|---|---:|")
    for name, seconds in rows.items():
        print(f"| {name} | {seconds:.2f} |")


if __name__ == "__main__":
    main()

"""`nrr demo`: the whole pipeline on embedded defaults, end to end, on this machine.

A synthetic Stripe account (seeded: the same account every run on the same day) is served
by the local Stripe-compatible server; the real flows then run through Prefect in ephemeral
mode: extract to Parquet, backfill the history, close the month that just ended (validate,
compute, snapshot, Slack summary and alerts into the local outbox, charts, HTML report).
No Stripe key, Slack token or Prefect server is needed. Running it again shows the
snapshots unchanged.
"""

from __future__ import annotations

import os
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from rich.console import Console
from rich.table import Table

from nrr.errors import NrrError
from nrr.reporting.format import money, pct
from nrr.settings import Settings

DEMO_SEED = 7
DEMO_API_KEY = "sk_test_local_demo"


@dataclass
class DemoResult:
    """What the demo produced, for the final printout (and for tests)."""

    closed_month: date
    first_month: date
    close: dict[str, object]
    backfill: dict[str, object]
    extract: dict[str, object]
    paths: dict[str, Path] = field(default_factory=dict)
    truth_path: Path | None = None
    config_path: Path | None = None  # the nrr.toml the demo wrote (None: the user's kept)
    seconds: dict[str, float] = field(default_factory=dict)


def month_shift(month: date, months: int) -> date:
    index = month.year * 12 + month.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


@contextmanager
def _environment(values: dict[str, str]):
    """The flows read settings from the environment: point them at the demo's services."""
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def run_demo(
    settings: Settings,
    *,
    customers: int = 3000,
    months: int = 36,
    today: date | None = None,
    console: Console | None = None,
) -> DemoResult:
    """Generate, serve, extract, backfill and close; return what was produced."""
    from nrr.sandbox.stripe_generator import generate_account
    from nrr.sandbox.stripe_server import serve
    from nrr.tasks.common import StepFailed

    console = console or Console()
    today = today or date.today()
    closed = month_shift(today.replace(day=1), -1)  # the month that just ended
    first = month_shift(closed, -(months - 1))
    data_dir = settings.data_dir.resolve()
    demo_dir = data_dir / "demo"
    demo_dir.mkdir(parents=True, exist_ok=True)
    timings: dict[str, float] = {}

    started = time.perf_counter()
    with console.status(f"Generating a synthetic Stripe account: {customers:,} customers, "
                        f"{first:%Y-%m} to {closed:%Y-%m}..."):  # fmt: skip
        account = generate_account(customers, months, first_month=first, seed=DEMO_SEED)
        fx_path = demo_dir / "fx_rates.csv"
        account.write_fx_rates(fx_path)
        truth_path = demo_dir / "truth.parquet"
        account.write_truth(truth_path)
    timings["generate"] = time.perf_counter() - started
    counts = account.summary()
    console.print(
        f"[green]✓[/green] account generated in {timings['generate']:.1f}s: "
        + ", ".join(f"{n:,} {kind}" for kind, n in counts.items())
    )

    with serve(account, api_key=DEMO_API_KEY) as server:
        console.print(f"[green]✓[/green] local Stripe-compatible API on {server.url}")
        environment = {
            "NRR_DATA_DIR": str(data_dir),
            "NRR_FX_RATES": str(fx_path),
            "STRIPE_API_KEY": DEMO_API_KEY,
            "STRIPE_API_BASE": server.url,
            "NRR_STRIPE_MAX_RPS": "500",
        }
        with _environment(environment):
            try:
                result = _run_flows(console, data_dir, first, closed, timings)
            except StepFailed as exc:
                raise NrrError(f"the demo stopped: {exc}") from None
    result.truth_path = truth_path
    result.paths = artefact_paths(data_dir, closed, result.close)
    result.config_path = write_demo_config(data_dir, fx_path)
    return result


DEMO_CONFIG_MARK = "# written by `nrr demo`"


def write_demo_config(data_dir: Path, fx_path: Path) -> Path | None:
    """The settings file the commands the demo suggests next need (its data directory and
    the FX rates of its three currencies); never over a file the user wrote."""
    from nrr.settings_file import config_path

    path, _ = config_path()
    if path.exists() and not path.read_text(encoding="utf-8").startswith(DEMO_CONFIG_MARK):
        return None
    text = (
        f"{DEMO_CONFIG_MARK}: the demo's data and exchange rates, so that `nrr validate`,\n"
        "# `nrr close`, `nrr report`, `nrr snapshots` and `nrr doctor` work on them next.\n"
        "# Edit it (or delete it) to configure your own data: docs/configuration.md\n"
        f"data_dir = {_toml_string(data_dir)}\n"
        f"fx_rates_path = {_toml_string(fx_path)}\n"
    )
    path.write_text(text, encoding="utf-8")
    return path


def _toml_string(path: Path) -> str:
    import json

    return json.dumps(str(Path(path).resolve()))  # a JSON string is a valid TOML basic string


def _run_flows(console: Console, data_dir: Path, first: date, closed: date,
               timings: dict[str, float]) -> DemoResult:  # fmt: skip
    from nrr.flows.backfill import backfill
    from nrr.flows.extract import extract
    from nrr.flows.monthly_close import monthly_close

    console.rule("Prefect flows (ephemeral mode)")
    started = time.perf_counter()
    extracted = extract(data_dir=str(data_dir), progress=True)
    timings["extract"] = time.perf_counter() - started
    console.print(
        f"[green]✓[/green] extract ({extracted['mode']}): "
        f"{sum(extracted['counts'].values()):,} objects, {extracted['requests']:,} requests, "
        f"{timings['extract']:.1f}s"
    )
    started = time.perf_counter()
    history_end = month_shift(closed, -1)
    backfilled = backfill(from_month=f"{first:%Y-%m}", to_month=f"{history_end:%Y-%m}",
                          data_dir=str(data_dir))  # fmt: skip
    timings["backfill"] = time.perf_counter() - started
    console.print(
        f"[green]✓[/green] backfill {first:%Y-%m}..{history_end:%Y-%m}: "
        f"{backfilled['published']} published, {backfilled['restated']} restated, "
        f"{backfilled['unchanged'] + backfilled['skipped']} unchanged, "
        f"{backfilled['failed']} failed ({timings['backfill']:.1f}s)"
    )
    started = time.perf_counter()
    closed_result = monthly_close(month=f"{closed:%Y-%m}", data_dir=str(data_dir))
    timings["close"] = time.perf_counter() - started
    console.print(f"[green]✓[/green] close {closed:%Y-%m}: {closed_result['message']} "
                  f"({timings['close']:.1f}s)")  # fmt: skip
    return DemoResult(closed, first, closed_result, backfilled, extracted, seconds=timings)


def artefact_paths(data_dir: Path, closed: date, close: dict[str, object]) -> dict[str, Path]:
    """Everything the demo produced that a newcomer may want to open."""
    outbox = data_dir / "outbox"
    charts = sorted(outbox.glob(f"{closed:%Y-%m}_summary_*.png"))
    docs = [Path(p) for p in close.get("data_docs", []) if p and p != "None"]
    paths = {
        "warehouse (DuckDB)": data_dir / "warehouse.duckdb",
        "raw lake (Parquet)": data_dir / "lake",
        "Slack outbox": outbox,
        "HTML report": Path(str(close["report"])),
    }
    for index, doc in enumerate(docs):
        paths[f"Data Docs ({'inputs' if index == 0 else 'outputs'})"] = doc
    for chart in charts:
        paths[f"chart: {chart.stem.rsplit('-', 1)[-1]}"] = chart
    return paths


def print_summary(result: DemoResult, settings: Settings, console: Console) -> None:
    """The headline table and where everything is."""
    from nrr.reporting.figures import load_figures
    from nrr.warehouse import read_warehouse

    con = read_warehouse(settings)
    try:
        figures = load_figures(con, result.closed_month, currency=settings.reporting_currency)
    finally:
        con.close()
    h = figures.headline
    table = Table(title=f"Revenue retention, trailing 12 months to {result.closed_month:%B %Y}",
                  title_justify="left")  # fmt: skip
    for column in ("metric", "value", "benchmark band"):
        table.add_column(column)
    table.add_row("NRR", pct(h.nrr), h.benchmark_band or "n/a")
    table.add_row("GRR", pct(h.grr), h.grr_band or "n/a")
    table.add_row("Monthly NRR (annualised)", f"{pct(figures.monthly.nrr)} "
                  f"({pct(figures.monthly.nrr_annualised)})", "")  # fmt: skip
    table.add_row("Quarterly NRR", pct(figures.quarterly.nrr), "")
    table.add_row("Cohort at window start", f"{h.cohort_customers:,} customers, "
                  f"{money(h.start_mrr, figures.currency)} MRR", "")  # fmt: skip
    console.print(table)
    snapshot = result.close
    console.print(f"Snapshot: [bold]{snapshot['snapshot_id']}[/bold] ({snapshot['outcome']}) — "
                  f"{snapshot['message']}")  # fmt: skip
    paths = Table(title="What the demo produced", title_justify="left", show_header=False)
    paths.add_column("what")
    paths.add_column("where")
    for label, path in result.paths.items():
        paths.add_row(label, str(path))
    console.print(paths)
    if result.config_path is not None:
        console.print(
            f"Settings for the next commands written to [bold]{result.config_path}[/bold] "
            "(data directory and FX rates of the demo)."
        )
    else:
        console.print(
            "[yellow]Your own settings file was kept[/yellow]: to run commands on the demo's "
            f"data, pass --data-dir {settings.data_dir} and NRR_FX_RATES="
            f"{settings.data_dir / 'demo' / 'fx_rates.csv'}."
        )
    total = sum(result.seconds.values())
    console.print(
        f"Done in {total:.0f}s ("
        + ", ".join(f"{k} {v:.0f}s" for k, v in result.seconds.items())
        + "). Next: `nrr report --as-of "
        f"{result.closed_month:%Y-%m}`, `nrr snapshots`, `nrr validate`, `nrr close`, "
        "`nrr doctor`, or open the HTML report."
    )

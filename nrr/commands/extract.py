"""`nrr extract`: Stripe -> the raw Parquet lake under the data directory.

The first run lists everything; later runs fetch what changed (objects created since the
last run, and changes through Stripe's Events API), or re-sync everything when the events
since the last run are gone (`--full` forces it). An interrupted run resumes at the next
start. The `stripe` package is imported only when the command runs.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

import typer

DataDirOption = Annotated[
    Path | None,
    typer.Option(
        "--data-dir",
        help="Data directory; the lake goes to DIR/lake/stripe. Env: NRR_DATA_DIR.",
        show_default="./data",
    ),
]
FullOption = Annotated[
    bool,
    typer.Option(
        "--full",
        help="Re-list every object instead of fetching only what changed since the last run.",
    ),
]


def register(app: typer.Typer) -> None:
    @app.command()
    def extract(data_dir: DataDirOption = None, full: FullOption = False) -> None:
        """Extract Stripe (STRIPE_API_KEY, STRIPE_API_BASE) into the raw Parquet lake."""
        from rich.logging import RichHandler
        from rich.table import Table

        from nrr.cli_options import console, err_console, settings_for
        from nrr.stripe_source.extract import extract as run_extract

        settings = settings_for(data_dir=data_dir)
        logger = logging.getLogger("nrr.stripe")
        if not logger.handlers:  # warnings (retries) on stderr; progress has its own line
            handler = RichHandler(console=err_console, show_path=False, level=logging.WARNING)
            logger.addHandler(handler)
            logger.setLevel(logging.INFO)
        with lake_limit_when_orchestrated(settings):
            result = run_extract(settings, full=full, progress=console.is_terminal)

        table = Table(title=None, show_edge=False, header_style="bold")
        table.add_column("dataset")
        table.add_column("fetched", justify="right")
        table.add_column("in lake", justify="right")
        for name, rows in result.rows.items():
            table.add_row(name, f"{result.counts.get(name, 0):,}", f"{rows:,}")
        console.print(table)
        resumed = " (resumed)" if result.resumed else ""
        console.print(
            f"{result.mode.capitalize()} extraction{resumed} {result.run_id}: "
            f"{result.objects:,} objects, {result.requests:,} requests "
            f"({result.requests_per_second:,.1f}/s, {result.retries:,} retried) "
            f"in {result.seconds:.1f}s -> {settings.lake_dir / 'stripe'}"
        )
        console.print(f"[dim]{result.reason}[/dim]")


def lake_limit_when_orchestrated(settings):
    """With a Prefect server configured (PREFECT_API_URL), `nrr extract` takes the account's
    lake limit like the extract and close flows do; without one, Prefect is not imported."""
    import contextlib
    import os

    if not os.environ.get("PREFECT_API_URL"):
        return contextlib.nullcontext()
    from nrr.flows.limits import exclusive, lake_limit

    return exclusive(lake_limit(settings), "the Stripe lake", settings.lock_timeout_seconds)

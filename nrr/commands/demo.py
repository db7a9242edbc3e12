"""`nrr demo`: the real pipeline end to end on a synthetic Stripe account (see nrr/demo.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console


def register(app: typer.Typer) -> None:
    @app.command()
    def demo(
        data_dir: Annotated[
            Path | None,
            typer.Option(
                "--data-dir",
                help="Where the demo writes (warehouse, lake, outbox, reports).",
                show_default="./data",
            ),
        ] = None,
        customers: Annotated[int, typer.Option(help="Customers in the synthetic account.")] = 3000,
        months: Annotated[int, typer.Option(help="Months of history.")] = 36,
    ) -> None:
        """Run the whole pipeline on built-in sample data: no Stripe, Slack or Prefect setup."""
        from nrr.cli_options import settings_for
        from nrr.commands.orchestration import quiet_user_errors
        from nrr.demo import print_summary, run_demo

        quiet_user_errors()

        console = Console()
        settings = settings_for(data_dir=data_dir)
        from nrr.ephemeral import prefect_api

        with prefect_api():  # a temporary server that dies with this command, if needed
            result = run_demo(settings, customers=customers, months=months, console=console)
        print_summary(result, settings, console)

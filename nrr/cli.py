"""The `nrr` command line.

Heavy stacks (Prefect, Great Expectations, Stripe, Slack) are imported inside the commands
that need them, so `nrr compute` and `nrr report` start in well under a second.
"""

from __future__ import annotations

import gc
import json
import sys
from typing import Annotated

import typer

from nrr.cli_options import (  # shared with the commands (nrr/commands), defined once there
    DataDirOption,
    FormatOption,
    LedgerOption,
    OutputFormat,
    Policy,
    console,
    err_console,
    parse_month,
    settings_for,
)
from nrr.errors import LedgerError, NrrError

app = typer.Typer(
    name="nrr",
    help=(
        "Net and Gross Revenue Retention from your own billing data: extract from Stripe, "
        "validate, compute in DuckDB, snapshot each monthly close and notify Slack."
    ),
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="rich",
)


@app.command()
def compute(
    as_of: Annotated[str, typer.Option("--as-of", help="Last month to compute, YYYY-MM.")],
    ledger: LedgerOption = None,
    data_dir: DataDirOption = None,
    reactivation_policy: Annotated[
        Policy | None,
        typer.Option(
            "--reactivation-policy",
            help="exclude (default, conservative): a customer that left and came back inside "
            "a window counts as churned; include: its end MRR counts.",
        ),
    ] = None,
    skip_bad_rows: Annotated[
        bool, typer.Option("--skip-bad-rows", help="Report bad ledger rows and go on without them.")
    ] = False,
) -> None:
    """Build the warehouse (customer_mrr_monthly, mrr_movements, retention_windows, ...)."""
    from nrr.compute import compute as run_compute

    month = parse_month(as_of)
    settings = settings_for(
        data_dir=data_dir,
        reactivation_policy=reactivation_policy.value if reactivation_policy else None,
    )
    result = run_compute(settings, month, ledger, skip_bad_rows=skip_bad_rows)
    for bad in result.skipped_rows:
        err_console.print(f"[yellow]skipped[/yellow] {bad}")
    counts = ", ".join(f"{name} {rows:,}" for name, rows in result.build.row_counts.items())
    console.print(
        f"Computed {result.as_of:%Y-%m} from {result.source} ({result.ledger_rows:,} rows) "
        f"in {result.seconds:.1f}s -> {result.warehouse}"
    )
    console.print(f"[dim]{counts}[/dim]")


@app.command()
def report(
    as_of: Annotated[str, typer.Option("--as-of", help="Month to report, YYYY-MM.")],
    data_dir: DataDirOption = None,
    output_format: FormatOption = OutputFormat.table,
) -> None:
    """Print headline NRR/GRR with benchmark bands, waterfall, segments and cohort curves."""
    from nrr.reporting.figures import load_figures
    from nrr.warehouse import read_warehouse

    settings = settings_for(data_dir=data_dir)
    con = read_warehouse(settings)
    try:
        figures = load_figures(con, parse_month(as_of), currency=settings.reporting_currency)
    finally:
        con.close()
    if output_format is OutputFormat.json:
        sys.stdout.write(json.dumps(figures.to_dict(), indent=2, default=str) + "\n")
        return
    from nrr.reporting.console import print_report

    print_report(figures, console)


from nrr.commands import register_all  # noqa: E402  (commands register on `app`)

register_all(app)


def _release(exc: BaseException) -> None:
    """Drop the tracebacks of a handled error so the objects their frames hold (DuckDB
    connections among them) are freed now, not reported as leaks at interpreter exit."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        current.__traceback__ = None
        current = current.__cause__ or current.__context__
    gc.collect()


def main() -> None:
    """Entry point: user mistakes become one clear sentence and exit code 1, never a traceback."""
    try:
        app()
    except LedgerError as exc:
        err_console.print(f"[red]error:[/red] {exc}", highlight=False)
        for line in exc.details():
            err_console.print(f"  {line}", highlight=False)
        _release(exc)
        raise SystemExit(1) from None
    except NrrError as exc:
        err_console.print(f"[red]error:[/red] {exc}", highlight=False)
        _release(exc)
        raise SystemExit(1) from None
    except (PermissionError, NotADirectoryError) as exc:  # a path the user gave, unwritable
        where = exc.filename or "a path"
        err_console.print(
            f"[red]error:[/red] cannot write {where}: {exc.strerror or type(exc).__name__} "
            "(check --data-dir / NRR_DATA_DIR and its permissions)",
            highlight=False,
        )
        _release(exc)
        raise SystemExit(1) from None


if __name__ == "__main__":
    main()

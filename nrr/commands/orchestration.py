"""`nrr close` and `nrr backfill`: run the Prefect flows from the command line.

Prefect is imported only here, inside the commands: ephemeral mode (a temporary local API)
by default, a Prefect server or Cloud when PREFECT_API_URL is set.
"""

from __future__ import annotations

import json
import logging
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from nrr.cli_options import DataDirOption, LedgerOption
from nrr.errors import NrrError

console = Console()

DataDir = DataDirOption
Ledger = LedgerOption


class _UserErrorsWithoutTraceback(logging.Filter):
    """Prefect logs a failed run with its traceback; for a user mistake (a bad ledger, a
    missing key) the one-line reason is the whole story, so the traceback is dropped."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and _is_user_error(record.exc_info[1]):
            record.exc_info = None
            record.exc_text = None
        return True


def _is_user_error(exc: BaseException | None) -> bool:
    from tasks.common import StepFailed

    while exc is not None:
        if isinstance(exc, NrrError):
            return True
        if not isinstance(exc, StepFailed):
            return False
        exc = exc.__cause__
    return False


def quiet_user_errors() -> None:
    """Install the filter on Prefect's run loggers' handlers (after Prefect set them up)."""
    import prefect  # noqa: F401  (configures Prefect's logging)

    quiet = _UserErrorsWithoutTraceback()
    for name in ("prefect.flow_runs", "prefect.task_runs", "prefect"):
        logger = logging.getLogger(name)
        for handler in [*logger.handlers, *logging.getLogger().handlers]:
            if quiet not in handler.filters:
                handler.addFilter(quiet)


def _run_flow(call):
    """Run a flow; turn its failure into one clear sentence (the step that failed and why)."""
    from prefect.exceptions import PrefectException

    from tasks.common import StepFailed

    quiet_user_errors()
    try:
        return call()
    except StepFailed as exc:
        raise NrrError(str(exc)) from None
    except PrefectException as exc:
        raise NrrError(f"the flow could not run: {exc}") from None


def register(app: typer.Typer) -> None:
    @app.command()
    def close(
        month: Annotated[
            str | None, typer.Option("--month", help="YYYY-MM; default: the month that just ended.")
        ] = None,
        ledger: Ledger = None,
        data_dir: DataDir = None,
        no_notify: Annotated[
            bool, typer.Option("--no-notify", help="Do not post to Slack.")
        ] = False,
        extract: Annotated[
            bool | None,
            typer.Option(
                "--extract/--no-extract",
                help="Extract from Stripe first (default: when a key is set).",
            ),
        ] = None,
        output: Annotated[str, typer.Option("--format", help="table or json")] = "table",
    ) -> None:
        """Monthly close: extract, validate, compute, snapshot, report, notify (Prefect flow)."""
        from nrr.cli import parse_month

        parse_month(month)  # fail fast on a typo, before Prefect starts
        from expectations.gates import import_gx_in_background

        import_gx_in_background()  # while Prefect's API starts
        from flows.monthly_close import monthly_close

        result = _run_flow(lambda: monthly_close(
            month=month, ledger=str(ledger) if ledger else None,
            data_dir=str(data_dir) if data_dir else None, notify=not no_notify, extract=extract,
        ))  # fmt: skip
        if output == "json":
            typer.echo(json.dumps(result, indent=2, default=str))
            return
        console.print(f"[bold]{result['message']}[/bold]")
        console.print(f"HTML report: {result['report']}")
        for warning in result["warnings"]:
            console.print(f"[yellow]data-quality warning:[/yellow] {warning}")

    @app.command()
    def backfill(
        from_month: Annotated[str, typer.Option("--from", help="First month, YYYY-MM.")],
        to_month: Annotated[str, typer.Option("--to", help="Last month, YYYY-MM.")],
        ledger: Ledger = None,
        data_dir: DataDir = None,
        notify_summary: Annotated[
            bool, typer.Option("--notify-summary", help="Post one Slack summary at the end.")
        ] = False,
        force: Annotated[bool, typer.Option("--force", help="Recompute unchanged months.")] = False,
        output: Annotated[str, typer.Option("--format", help="table or json")] = "table",
    ) -> None:
        """Compute and snapshot every month of a range, in parallel, skipping unchanged ones."""
        from nrr.cli import parse_month

        parse_month(from_month), parse_month(to_month)
        from expectations.gates import import_gx_in_background

        import_gx_in_background()  # while Prefect's API starts
        from flows.backfill import backfill as backfill_flow

        result = _run_flow(lambda: backfill_flow(
            from_month=from_month, to_month=to_month, ledger=str(ledger) if ledger else None,
            data_dir=str(data_dir) if data_dir else None, notify_summary=notify_summary,
            force=force,
        ))  # fmt: skip
        if output == "json":
            typer.echo(json.dumps(result, indent=2, default=str))
            return
        table = Table(title=f"Backfill {from_month} .. {to_month}", title_justify="left")
        table.add_column("month")
        table.add_column("outcome")
        for month, outcome in result["outcomes"].items():
            table.add_row(month, outcome)
        console.print(table)
        console.print(
            f"{result['published']} published, {result['restated']} restated, "
            f"{result['unchanged']} unchanged, {result['skipped']} skipped, "
            f"{result['failed']} failed"
        )

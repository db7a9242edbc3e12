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
    from nrr.tasks.common import StepFailed

    while exc is not None:
        if isinstance(exc, NrrError):
            return True
        if not isinstance(exc, StepFailed):
            return False
        if exc.__cause__ is None:  # the flow's own refusal: its message is the whole story
            return True
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

    from nrr.ephemeral import prefect_api
    from nrr.tasks.common import StepFailed

    quiet_user_errors()
    try:
        with prefect_api():  # a temporary server that dies with this command, if needed
            return call()
    except StepFailed as exc:
        raise NrrError(str(exc)) from None
    except PrefectException as exc:
        raise NrrError(f"the flow could not run: {exc}") from None


PENDING_EXIT_CODE = 3


def _exit_when_messages_pending(delivery: dict | None) -> None:
    """The snapshot is published, but Slack did not get everything: say so, exit 3."""
    if not delivery or delivery.get("ok", True):
        return
    undelivered = [kind for kind, status in delivery.get("statuses", [])
                   if status not in ("delivered", "already-delivered")]  # fmt: skip
    reasons = "; ".join(delivery.get("errors") or []) or "no reason recorded"
    Console(stderr=True).print(
        f"[bold yellow]published, but {len(undelivered)} Slack message(s) are not delivered "
        f"({', '.join(undelivered)}): {reasons}.[/bold yellow] They stay queued: fix the cause, "
        "then run `nrr notify --retry`."
    )
    raise typer.Exit(PENDING_EXIT_CODE)


def _refuse_unfinished(period, timezone: str) -> None:
    from nrr.flows.common import refuse_unfinished

    if period is not None:
        refuse_unfinished(period, timezone)


def _fail_fast(check) -> None:
    """A flow's parameter check run before Prefect starts: its refusal as one sentence."""
    from nrr.tasks.common import StepFailed

    try:
        check()
    except StepFailed as exc:
        raise NrrError(str(exc).removeprefix("step 'parameters' failed: ")) from None


def ensure_writable(directory) -> None:
    """The data directory can be created and written, or one sentence saying it cannot."""
    import tempfile
    from pathlib import Path

    path = Path(directory)
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path, prefix=".nrr-write-check-"):
            pass
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise NrrError(f"the data directory {path} is not writable ({reason})") from None


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
        confirm_implausible: Annotated[
            bool,
            typer.Option(
                "--confirm-implausible",
                help="Publish even though customers, MRR or the cohort jumped or collapsed "
                "beyond the plausibility bounds (recorded on the snapshot).",
            ),
        ] = False,
    ) -> None:
        """Monthly close: extract, validate, compute, snapshot, report, notify (Prefect flow)."""
        from nrr.cli_options import parse_month, settings_for

        period = parse_month(month)  # fail fast on a typo, before Prefect starts
        settings = settings_for(data_dir=data_dir)
        _fail_fast(lambda: _refuse_unfinished(period, settings.close_timezone))
        ensure_writable(settings.data_dir)
        from nrr.expectations.gates import import_gx_in_background

        import_gx_in_background()  # while Prefect's API starts
        from nrr.flows.monthly_close import monthly_close

        result = _run_flow(lambda: monthly_close(
            month=month, ledger=str(ledger) if ledger else None,
            data_dir=str(data_dir) if data_dir else None, notify=not no_notify, extract=extract,
            confirm_implausible=confirm_implausible,
        ))  # fmt: skip
        if output == "json":
            typer.echo(json.dumps(result, indent=2, default=str))
            _exit_when_messages_pending(result.get("notify"))
            return
        console.print(f"[bold]{result['message']}[/bold]")
        console.print(f"HTML report: {result['report']}")
        for warning in result["warnings"]:
            console.print(f"[yellow]data-quality warning:[/yellow] {warning}")
        _exit_when_messages_pending(result.get("notify"))

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
        confirm_implausible: Annotated[
            bool,
            typer.Option(
                "--confirm-implausible",
                help="Publish months with implausible jumps (recorded on each snapshot).",
            ),
        ] = False,
    ) -> None:
        """Compute and snapshot every month of a range, in parallel, skipping unchanged ones."""
        from nrr.cli_options import parse_month, settings_for

        first, last = parse_month(from_month), parse_month(to_month)
        if first > last:
            raise NrrError(
                f"--from {from_month} is after --to {to_month}: the range is reversed "
                f"(did you mean --from {to_month} --to {from_month}?)"
            )
        settings = settings_for(data_dir=data_dir)
        _fail_fast(lambda: _refuse_unfinished(last, settings.close_timezone))
        ensure_writable(settings.data_dir)
        from nrr.expectations.gates import import_gx_in_background

        import_gx_in_background()  # while Prefect's API starts
        from nrr.flows.backfill import backfill as backfill_flow

        result = _run_flow(lambda: backfill_flow(
            from_month=from_month, to_month=to_month, ledger=str(ledger) if ledger else None,
            data_dir=str(data_dir) if data_dir else None, notify_summary=notify_summary,
            force=force, confirm_implausible=confirm_implausible,
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

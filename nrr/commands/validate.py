"""`nrr validate`: run the data-quality suites alone and print what holds and what does not.

Exit code 1 when a critical check fails (a close would stop), 0 otherwise (warnings are
listed). Great Expectations is imported only when the command runs.
"""

from __future__ import annotations

import json
import sys
from datetime import date
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from nrr.cli_options import DataDirOption, LedgerOption


class Scope(str, Enum):  # noqa: UP042 (typer renders str enums as choices)
    all = "all"
    inputs = "inputs"
    outputs = "outputs"


class Format(str, Enum):  # noqa: UP042
    table = "table"
    json = "json"


def register(app: typer.Typer) -> None:
    @app.command()
    def validate(
        data_dir: DataDirOption = None,
        ledger: LedgerOption = None,
        as_of: Annotated[
            str | None,
            typer.Option(
                "--as-of",
                help="Closed month, YYYY-MM. Default: the warehouse's last month, else last month.",
                show_default=False,
            ),
        ] = None,
        scope: Annotated[
            Scope,
            typer.Option(
                "--scope", help="inputs (ledger or Stripe lake), outputs (warehouse) or all."
            ),
        ] = Scope.all,
        previous: Annotated[
            Path | None,
            typer.Option(
                "--previous",
                help="CloseStats JSON of the previous close for the volume checks. Default: "
                "the latest earlier month whose validation passed.",
            ),
        ] = None,
        show_all: Annotated[
            bool, typer.Option("--all", help="List every check, not only failures.")
        ] = False,
        output_format: Annotated[
            Format, typer.Option("--format", help="table for people, json for scripts.")
        ] = Format.table,
    ) -> None:
        """Validate inputs and warehouse with the Great Expectations suites; Data Docs per run."""
        from nrr.cli_options import console, parse_month, settings_for

        settings = settings_for(data_dir=data_dir)
        month = parse_month(as_of) or _default_month(settings)
        baseline = _baseline(settings, month, previous)
        reports = []
        if scope in (Scope.all, Scope.inputs):
            from nrr.expectations.gates import validate_inputs

            reports.append(
                validate_inputs(settings, as_of=month, ledger_path=ledger, previous=baseline)
            )
        if scope in (Scope.all, Scope.outputs):
            reports.extend(_outputs(settings, month, baseline, required=scope is Scope.outputs))
        if output_format is Format.json:
            payload = [report.to_dict() for report in reports]
            sys.stdout.write(json.dumps(payload, indent=2, default=str) + "\n")
        else:
            from nrr.expectations.console import render_report

            for report in reports:
                console.print(render_report(report, show_all=show_all))
        if any(not report.passed for report in reports):
            raise typer.Exit(1)


def _outputs(settings, month: date, baseline, *, required: bool) -> list:
    """The warehouse report, or nothing (with a note) when no warehouse exists yet."""
    from nrr.cli_options import err_console

    if not settings.warehouse_path.is_file() and not required:
        err_console.print(
            f"[dim]no warehouse at {settings.warehouse_path}: outputs not validated[/dim]"
        )
        return []
    from nrr.expectations.gates import validate_outputs
    from nrr.warehouse import read_warehouse

    con = read_warehouse(settings)
    try:
        return [validate_outputs(con, settings, as_of=month, previous=baseline)]
    finally:
        con.close()


def _default_month(settings) -> date:
    """The warehouse's last computed month, else the last complete calendar month."""
    if settings.warehouse_path.is_file():
        from nrr.warehouse import read_warehouse, table_exists

        con = read_warehouse(settings)
        try:
            if table_exists(con, "customer_mrr_monthly"):
                latest = con.execute("select max(month) from customer_mrr_monthly").fetchall()
                if latest[0][0] is not None:
                    return latest[0][0]
        finally:
            con.close()
    today = date.today().replace(day=1)
    return date(today.year - (today.month == 1), (today.month - 2) % 12 + 1, 1)


def _baseline(settings, month: date, previous: Path | None):
    from nrr.errors import NrrError
    from nrr.expectations.history import latest_close_stats
    from nrr.expectations.report import CloseStats

    if previous is None:
        return latest_close_stats(settings.data_dir, before=month)
    try:
        return CloseStats.from_dict(json.loads(Path(previous).read_text()))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise NrrError(f"cannot read previous close stats {previous}: {exc}") from exc

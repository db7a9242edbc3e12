"""Command-line options, consoles and parsers shared by every command, defined once (the
commands in nrr/commands import them from here, never from nrr.cli, which imports them)."""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError
from rich.console import Console

from nrr.errors import NrrError

DataDirOption = Annotated[
    Path | None,
    typer.Option(
        "--data-dir",
        help="Data directory (warehouse, lake, outbox, reports). Env: NRR_DATA_DIR.",
        show_default="./data",
    ),
]
LedgerOption = Annotated[
    Path | None,
    typer.Option(
        "--ledger",
        help="Revenue ledger (CSV or Parquet). Without it, the Stripe lake in the data dir.",
    ),
]

console = Console()
err_console = Console(stderr=True)


class OutputFormat(StrEnum):
    table = "table"
    json = "json"


class Policy(StrEnum):
    exclude = "exclude"
    include = "include"


def parse_month(value: str | None) -> date | None:
    """YYYY-MM -> first day of that month; a clear message otherwise."""
    if value is None:
        return None
    try:
        year, month = value.strip().split("-")[:2]
        return date(int(year), int(month), 1)
    except (ValueError, TypeError):
        raise typer.BadParameter(f"{value!r} is not a month; use YYYY-MM, e.g. 2025-06") from None


MonthOption = Annotated[str, typer.Option(help="Month as YYYY-MM.", show_default=False)]
FormatOption = Annotated[
    OutputFormat, typer.Option("--format", help="table for people, json for scripts.")
]


def settings_for(**overrides: object):
    """Settings with command-line flags applied; invalid configuration is a user error."""
    from nrr.settings import load_settings

    try:
        return load_settings(**overrides)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'settings'}: "
            f"{err['msg'].removeprefix('Value error, ')}"
            for err in exc.errors()
        )
        raise NrrError(f"invalid configuration: {problems}") from None

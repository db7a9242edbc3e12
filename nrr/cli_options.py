"""Command-line options shared by every command, defined once."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

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

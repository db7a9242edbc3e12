"""`nrr snapshots`: the published versions of each month, and what each restatement moved."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from nrr.cli_options import DataDirOption
from nrr.errors import NrrError


def register(app: typer.Typer) -> None:
    @app.command()
    def snapshots(
        month: Annotated[
            str | None, typer.Option("--month", help="Only this month, YYYY-MM.")
        ] = None,
        data_dir: DataDirOption = None,
        output: Annotated[str, typer.Option("--format", help="table or json")] = "table",
    ) -> None:
        """List snapshot versions and restatements (which figures moved, by how much)."""
        from nrr.cli_options import parse_month, settings_for
        from nrr.snapshots.listing import list_snapshots

        period = parse_month(month)
        rows = list_snapshots(settings_for(data_dir=data_dir), period)
        if not rows:
            raise NrrError(
                f"no snapshots{f' for {month}' if month else ''} yet: run `nrr close` first"
            )
        if output == "json":
            typer.echo(json.dumps(rows, indent=2, default=str))
            return
        console = Console()
        table = Table(title="Snapshots", title_justify="left")
        for column in ("snapshot", "period", "version", "created (UTC)", "source",
                       "T12M NRR", "T12M GRR", "restated figures"):  # fmt: skip
            table.add_column(column)
        for row in rows:
            table.add_row(
                row["snapshot_id"], row["period"], str(row["version"]),
                row["created_at"][:19], row["source"] or "",
                _pct(row["nrr"]), _pct(row["grr"]), str(row["restatement_count"] or 0),
            )  # fmt: skip
        console.print(table)
        restated = [r for r in rows if r["restatements"]]
        for row in restated:
            detail = Table(title=f"{row['snapshot_id']} restates {row['previous_snapshot_id']}",
                           title_justify="left")  # fmt: skip
            for column in ("window", "dimension", "segment", "metric", "was", "now", "change"):
                detail.add_column(column)
            for r in row["restatements"]:
                detail.add_row(f"{r['window_months']}m", r["dimension"], r["segment"],
                               r["metric"], _num(r["old_value"]), _num(r["new_value"]),
                               _num(r["delta"]))  # fmt: skip
            console.print(detail)


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value * 100:.1f}%"


def _num(value: float | None) -> str:
    return "n/a" if value is None else f"{value:,.4f}".rstrip("0").rstrip(".")

"""`nrr notify`: deliver queued Slack messages, or (re)render a month's summary.

    nrr notify --retry                   deliver everything still queued (Slack was down...)
    nrr notify --month 2025-03           post the summary + alerts of a computed month
    nrr notify --month 2025-03 --dry-run write them afresh to the outbox only, whatever Slack
                                         is configured, without recording a delivery

Slack (slack_sdk, matplotlib) is imported inside the command so `nrr compute` stays fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from nrr.errors import NrrError

STATUS_STYLE = {
    "delivered": "green",
    "already-delivered": "dim",
    "pending": "yellow",
    "failed": "red",
}


def register(app: typer.Typer) -> None:
    app.command()(notify)


def notify(
    retry: Annotated[
        bool, typer.Option("--retry", help="Deliver every message still queued, oldest first.")
    ] = False,
    month: Annotated[
        str | None,
        typer.Option(
            "--month",
            help="Render and send the summary and alerts of this computed month (YYYY-MM).",
            show_default=False,
        ),
    ] = None,
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run",
            help="With --month: write to the local outbox only, afresh, recording nothing.",
        ),
    ] = False,
    resend_in_doubt: Annotated[
        bool,
        typer.Option(
            "--resend-in-doubt",
            help="With --retry: re-post messages whose earlier "
            "attempt may have landed, without checking the channel first (only when "
            "the app cannot read channel history; may duplicate).",
        ),
    ] = False,
    data_dir: Annotated[
        Path | None,
        typer.Option(
            "--data-dir",
            help="Data directory (warehouse, outbox, delivery state). Env: NRR_DATA_DIR.",
            show_default="./data",
        ),
    ] = None,
) -> None:
    """Deliver queued Slack messages (--retry) or send a month's summary (--month)."""
    from nrr.cli_options import console, parse_month, settings_for

    if retry == (month is not None):
        raise NrrError("give either --retry or --month YYYY-MM")
    if dry_run and month is None:
        raise NrrError("--dry-run goes with --month (it renders a month into the outbox)")
    settings = settings_for(data_dir=data_dir)
    from nrr.slack.service import retry_pending

    completed = []
    if retry:
        from nrr.followups import complete_pending

        # versions published by a run that died before their report and messages
        completed = complete_pending(settings)
        for done in completed:
            console.print(
                f"completed {done.followup.snapshot_id}, published by a run that stopped "
                f"early: report {done.report_path}",
                highlight=False,
            )
        result = retry_pending(settings, resend_in_doubt=resend_in_doubt)
        result.outcomes[:0] = [o for done in completed for o in done.outcomes]
    else:
        result = _notify_month(settings, parse_month(month), outbox=dry_run)
    if not result.outcomes and not completed:
        console.print("Nothing queued: every message is delivered.")
    for o in result.outcomes:
        style = STATUS_STYLE.get(o.status, "")
        line = f"[{style}]{o.status:>17}[/{style}]  {o.kind:<8} {o.key}  via {o.channel}"
        if o.detail:
            line += f"  [dim]{o.detail}[/dim]"
        console.print(line, highlight=False)
        if o.error:
            console.print(f"{'':>19}{o.error}", highlight=False, markup=False)
    failed = [o for o in result.outcomes if o.status == "failed"]
    if failed:
        raise NrrError(failed[0].error or "a Slack message could not be delivered")


def _notify_month(settings, period, *, outbox: bool):
    from nrr.slack.service import build_close_summary, notify_close, render_to_outbox
    from nrr.snapshots.restatement import read_restatements
    from nrr.warehouse import read_warehouse

    con = read_warehouse(settings)
    try:
        snapshot_id, version = latest_snapshot(con, period)
        summary = build_close_summary(
            con,
            settings,
            period,
            snapshot_id=snapshot_id,
            snapshot_version=version,
            restatements=read_restatements(con, snapshot_id, period),
        )
    finally:
        con.close()
    if outbox:
        return render_to_outbox(settings, summary)
    return notify_close(settings, summary)


def latest_snapshot(con, period) -> tuple[str, int]:
    """(snapshot id, version) of the newest snapshot of `period`, or ("warehouse", 0) when
    the month was only computed, never snapshotted (its messages then have their own keys)."""
    import duckdb

    try:
        columns = {row[0] for row in con.execute("describe snapshots").fetchall()}
        month_col = next(c for c in ("period", "as_of", "month") if c in columns)
        version_col = next(c for c in ("snapshot_version", "version") if c in columns)
        row = con.execute(
            f"select snapshot_id, {version_col} from snapshots where {month_col} = ? "
            f"order by {version_col} desc limit 1",
            [period],
        ).fetchone()
    except (duckdb.Error, StopIteration):
        return "warehouse", 0
    return (str(row[0]), int(row[1])) if row else ("warehouse", 0)

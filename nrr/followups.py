"""A publication and its report and messages are one unit of work.

A close publishes a snapshot version and, in the same transaction, records a follow-up: the
version still needs its HTML report and (unless `--no-notify`) its Slack summary and alerts.
The close marks it done once the report is written and the messages are handed to the
delivery state (which owns retries from then on). A run killed in between leaves the
follow-up open; the next close, or `nrr notify --retry`, completes it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime

import duckdb

from nrr.locking import warehouse_lock
from nrr.settings import Settings


@dataclass
class Followup:
    """A published version still waiting for its report (and messages)."""

    snapshot_id: str
    period: date
    version: int
    notify: bool


@dataclass
class CompletedFollowup:
    """What completing one follow-up did."""

    followup: Followup
    report_path: str
    outcomes: list = field(default_factory=list)  # nrr.slack.service.MessageOutcome


def pending_followups(settings: Settings) -> list[Followup]:
    """Every published version whose report or messages were never completed, oldest first."""
    if not settings.warehouse_path.is_file():
        return []
    from nrr.warehouse import locked_read

    with locked_read(settings) as con:  # another close of this process may be writing
        if not _has_followups(con):
            return []
        rows = con.execute(
            """select snapshot_id, period, version, notify from snapshot_followups
               where completed_at is null order by period, version"""
        ).fetchall()
    return [Followup(str(r[0]), r[1], int(r[2]), bool(r[3])) for r in rows]


def _has_followups(con: duckdb.DuckDBPyConnection) -> bool:
    found = con.execute(
        "select count(*) from duckdb_tables() where table_name = 'snapshot_followups'"
    ).fetchone()[0]
    return bool(found)


def mark_done(settings: Settings, snapshot_id: str) -> None:
    """The version's report is written and its messages are queued: nothing left to do."""
    with warehouse_lock(settings):
        con = duckdb.connect(str(settings.warehouse_path))
        try:
            if _has_followups(con):
                con.execute(
                    "update snapshot_followups set completed_at = ? "
                    "where snapshot_id = ? and completed_at is null",
                    [datetime.now(UTC).replace(tzinfo=None), snapshot_id],
                )
        finally:
            con.close()


def complete(settings: Settings, followup: Followup) -> CompletedFollowup:
    """Write the version's HTML report and send its summary and alerts (once: the delivery
    state skips messages already delivered), then mark the follow-up done."""
    from nrr.reporting.html import report_path, write_html_report
    from nrr.slack.service import build_close_summary, notify_close
    from nrr.snapshots.restatement import read_restatements
    from nrr.warehouse import read_warehouse

    with warehouse_lock(settings):
        con = read_warehouse(settings)
        try:
            summary = build_close_summary(
                con,
                settings,
                followup.period,
                snapshot_id=followup.snapshot_id,
                snapshot_version=followup.version,
                restatements=read_restatements(con, followup.snapshot_id, followup.period),
            )
        finally:
            con.close()
    summary.report_path = report_path(settings, summary)
    write_html_report(settings, summary)
    outcomes = notify_close(settings, summary).outcomes if followup.notify else []
    mark_done(settings, followup.snapshot_id)
    return CompletedFollowup(followup, str(summary.report_path), list(outcomes))


def complete_pending(settings: Settings) -> list[CompletedFollowup]:
    """Complete every open follow-up (the next close and `nrr notify --retry` call this)."""
    return [complete(settings, followup) for followup in pending_followups(settings)]

"""The functions the close flows call: notify_close, notify_blocked, retry_pending.

None of them raises: a Slack problem (bad token, unknown channel, Slack down) comes back in
the NotifyResult and the logs, so the snapshot is still published. Messages not delivered
stay queued in the state file and go out with the next call or `nrr notify --retry`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import duckdb

from nrr.errors import NrrError
from nrr.reporting.figures import load_figures
from nrr.settings import Settings
from nrr.slack.delivery import Destination, SendResult, destination_for
from nrr.slack.message import Attachment, Message
from nrr.slack.state import (
    STATE_FILE,
    DeliveryState,
    alert_key,
    blocked_key,
    charts_key,
    failed_key,
    summary_key,
)
from nrr.slack.summary import BlockedFailure, CloseSummary, Restatement

log = logging.getLogger(__name__)

REPORTED_STATUS = {
    "delivered": "delivered",
    "pending": "pending",
    "in_doubt": "pending",
    "failed": "failed",
}


@dataclass
class MessageOutcome:
    """Where one message stands after this call."""

    key: str  # idempotency key
    kind: str  # summary / charts / alert / blocked
    channel: str  # bot / webhook / outbox
    status: str  # delivered / already-delivered / pending / failed
    error: str | None = None
    detail: str | None = None  # e.g. the outbox file, "found in channel history"


@dataclass
class NotifyResult:
    outcomes: list[MessageOutcome] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Everything is in the channel (now or before)."""
        return all(o.status in ("delivered", "already-delivered") for o in self.outcomes)

    @property
    def errors(self) -> list[str]:
        return list(dict.fromkeys(o.error for o in self.outcomes if o.error))

    def count(self, status: str) -> int:
        return sum(1 for o in self.outcomes if o.status == status)


def state_for(settings: Settings) -> DeliveryState:
    return DeliveryState(
        settings.data_dir / STATE_FILE, lease_seconds=max(300.0, 4 * settings.slack_timeout_seconds)
    )


# --- public API -----------------------------------------------------------------------------
def notify_close(
    settings: Settings, summary: CloseSummary, *, outbox: bool = False
) -> NotifyResult:
    """Post the summary (+ charts and report) and the alerts of a close, each exactly once."""
    key = summary_key(summary.period, summary.snapshot_version)
    try:
        state = state_for(settings)
        destination = destination_for(settings, state, outbox=outbox)
        messages = _close_messages(settings, summary, state, destination)
        return _deliver(state, destination, messages)
    except Exception as exc:  # never stop the snapshot from publishing
        return _crashed(key, "summary", exc)


def render_to_outbox(settings: Settings, summary: CloseSummary) -> NotifyResult:
    """Dry run: write the summary and alerts of a close to the outbox, always afresh, without
    touching the delivery state (so a later real send is unaffected)."""
    from nrr.slack.delivery import OutboxDestination

    destination = OutboxDestination(settings)
    result = NotifyResult()
    try:
        for message in _close_messages(settings, summary, None, destination):
            sent = destination.write(message)
            result.outcomes.append(
                MessageOutcome(
                    message.key,
                    message.kind,
                    "outbox",
                    REPORTED_STATUS[sent.status],
                    sent.error,
                    sent.note,
                )
            )
    except Exception as exc:
        return _crashed(summary_key(summary.period, summary.snapshot_version), "summary", exc)
    return result


def notify_blocked(
    settings: Settings, period: date, failures: list[BlockedFailure], *, outbox: bool = False
) -> NotifyResult:
    """Alert that a close was blocked by critical data-quality failures (once per failure set)."""
    from nrr.slack.blocks import render_blocked

    period = period.replace(day=1)
    key = blocked_key(period, [(f.expectation, f.dataset) for f in failures])
    try:
        state = state_for(settings)
        destination = destination_for(settings, state, outbox=outbox)
        text, blocks = render_blocked(period, failures)
        message = Message(
            key=key,
            kind="blocked",
            period=f"{period:%Y-%m}",
            text=text,
            blocks=blocks,
            rule="blocked",
        )
        return _deliver(state, destination, [message])
    except Exception as exc:
        return _crashed(key, "blocked", exc)


def notify_failed(
    settings: Settings,
    period: date,
    run_id: str,
    step: str,
    reason: str,
    run_url: str | None,
    *,
    outbox: bool = False,
) -> NotifyResult:
    """Alert that a close failed or crashed (once per flow run, through the delivery ledger)."""
    from nrr.slack.blocks import render_failed

    period = period.replace(day=1)
    key = failed_key(period, run_id)
    try:
        state = state_for(settings)
        destination = destination_for(settings, state, outbox=outbox)
        text, blocks = render_failed(period, step, reason, run_url)
        message = Message(
            key=key, kind="failed", period=f"{period:%Y-%m}", text=text, blocks=blocks,
            rule="failed",
        )  # fmt: skip
        return _deliver(state, destination, [message])
    except Exception as exc:
        return _crashed(key, "failed", exc)


def retry_pending(settings: Settings, *, resend_in_doubt: bool = False) -> NotifyResult:
    """Deliver every queued message of the configured destination, oldest first.

    `resend_in_doubt` re-posts messages whose earlier attempt may have landed without checking
    the channel first: only for when the history check cannot run (see docs/slack.md)."""
    try:
        state = state_for(settings)
        destination = destination_for(settings, state)
        result = _deliver(state, destination, [], resend_in_doubt=resend_in_doubt)
    except Exception as exc:
        return _crashed("retry", "retry", exc)
    for d in state.undelivered():
        if d.destination != destination.name:
            result.outcomes.append(
                MessageOutcome(
                    d.key,
                    d.kind,
                    d.destination.split(":")[0],
                    "pending",
                    f"queued for {d.destination}, which is not the configured destination now",
                )
            )
    return result


def build_close_summary(
    con: duckdb.DuckDBPyConnection,
    settings: Settings,
    period: date,
    *,
    snapshot_id: str,
    snapshot_version: int,
    restatements: list[Restatement] | None = None,
    data_quality_warnings: list[str] | None = None,
    report_path: Path | None = None,
    windows_table: str = "retention_windows",
    cohort_table: str = "cohort_retention",
) -> CloseSummary:
    """Read the figures, last month's figures and the cohort matrix of `period` from `con`."""
    period = period.replace(day=1)
    currency = settings.reporting_currency
    figures = load_figures(con, period, currency=currency, windows_table=windows_table)
    previous_month = date(period.year - (period.month == 1), (period.month - 2) % 12 + 1, 1)
    try:
        previous = load_figures(con, previous_month, currency=currency, windows_table=windows_table)
    except NrrError:
        previous = None
    matrix = [
        (cohort, int(age), nrr)
        for cohort, age, nrr in con.execute(
            f"""select cohort_month, age_months, nrr from {cohort_table}
                where cohort_month + to_months(age_months) <= ?
                order by cohort_month, age_months""",
            [period],
        ).fetchall()
    ]
    return CloseSummary(
        period=period,
        snapshot_id=snapshot_id,
        snapshot_version=snapshot_version,
        figures=figures,
        cohort_matrix=matrix,
        restatements=list(restatements or []),
        data_quality_warnings=list(data_quality_warnings or []),
        report_path=report_path,
        previous_period_figures=previous,
    )


# --- rendering -----------------------------------------------------------------------------
def _close_messages(
    settings: Settings, summary: CloseSummary, state: DeliveryState | None, destination: Destination
) -> list[Message]:
    """The summary (with its charts) and one message per fired alert rule."""
    from nrr.slack.alerts import evaluate
    from nrr.slack.blocks import render_alert

    period, version = summary.period, summary.snapshot_version
    messages: list[Message] = []
    stored = [
        state.get(k, destination.name) if state else None
        for k in (summary_key(period, version), charts_key(period, version))
    ]
    if stored[0] is None:  # render (charts take a second) only once per destination
        messages += _summary_messages(settings, summary, destination)
    else:
        messages += [d.message for d in stored if d is not None]
    for alert in evaluate(settings, summary):
        text, blocks = render_alert(alert, summary)
        messages.append(
            Message(
                key=alert_key(period, version, alert.rule),
                kind="alert",
                period=f"{period:%Y-%m}",
                text=text,
                blocks=blocks,
                rule=alert.rule,
            )
        )
    return messages


def _summary_messages(
    settings: Settings, summary: CloseSummary, destination: Destination
) -> list[Message]:
    from nrr.reporting.charts import cohort_heatmap, trend_chart
    from nrr.reporting.html import write_html_report
    from nrr.slack.blocks import render_summary
    from nrr.slack.escape import code

    period, version = summary.period, summary.snapshot_version
    key = summary_key(period, version)
    slug = key.replace("/", "_")
    folder = settings.data_dir / "notifications" / slug
    trend = trend_chart(summary.figures, folder / f"nrr-{period:%Y-%m}-v{version}-trend.png")
    heatmap = cohort_heatmap(
        summary.cohort_matrix, period, folder / f"nrr-{period:%Y-%m}-v{version}-cohorts.png"
    )
    report = summary.report_path
    if report is None:
        try:
            report = write_html_report(
                settings, summary, charts={"trend": trend, "cohorts": heatmap}
            )
            summary.report_path = report
        except Exception:  # the message matters more than its report
            log.exception("the HTML report of %s could not be written", key)
    files = [
        Attachment(str(trend), trend.name, f"NRR and GRR, trailing 12 months, to {period:%b %Y}"),
        Attachment(str(heatmap), heatmap.name, f"Cohort NRR by age, {period:%b %Y}"),
    ]
    if report is not None:
        files.append(
            Attachment(
                str(report),
                f"nrr-{period:%Y-%m}-v{version}-report.html",
                f"Full report, {period:%B %Y} close",
            )
        )
    if destination.channel == "bot":
        note = "Charts and the full HTML report follow in this channel."
    elif destination.channel == "outbox":
        note = "Charts and the full report are saved next to this message in the outbox."
    else:
        note = f"Full report: {code(report, 300)}" if report else None
    text, blocks = render_summary(summary, files_note=note)
    month = f"{period:%Y-%m}"
    if destination.channel == "outbox":
        return [Message(key, "summary", month, text, blocks, files=files)]
    messages = [Message(key, "summary", month, text, blocks)]
    if destination.attaches_files:
        messages.append(
            Message(
                charts_key(period, version),
                "charts",
                month,
                f"Charts and full report of the {period:%B %Y} close",
                files=files,
            )
        )
    return messages


# --- delivery loop ---------------------------------------------------------------------------
def _deliver(
    state: DeliveryState,
    destination: Destination,
    messages: list[Message],
    *,
    resend_in_doubt: bool = False,
) -> NotifyResult:
    """Queue `messages`, then send everything queued for `destination`, oldest first."""
    result = NotifyResult()
    for message in messages:
        stored = state.enqueue(message, destination.name)
        if stored.status == "delivered":
            result.outcomes.append(
                MessageOutcome(message.key, message.kind, destination.channel, "already-delivered")
            )
    stop: str | None = None
    for queued in state.undelivered(destination.name):
        waiting = (
            f"not attempted: {stop}"
            if stop is not None
            else "waiting for its summary"
            if queued.kind == "charts"
            and not _summary_delivered(state, queued.key, destination.name)
            else None
        )
        if waiting is not None:
            result.outcomes.append(
                MessageOutcome(queued.key, queued.kind, destination.channel, "pending", waiting)
            )
            continue
        claim = state.claim(queued.key, destination.name)
        if claim is None:
            result.outcomes.append(
                MessageOutcome(
                    queued.key,
                    queued.kind,
                    destination.channel,
                    "pending",
                    "another run is sending it now",
                )
            )
            continue
        try:
            sent = destination.send(claim.delivery, in_doubt=claim.in_doubt and not resend_in_doubt)
        except Exception as exc:  # a bug or an unforeseen error: it may have been posted
            log.exception("sending %s failed unexpectedly", queued.key)
            sent = SendResult("in_doubt", f"{queued.key}: unexpected error {exc!r}")
        state.finish(
            queued.key,
            destination.name,
            sent.status,
            error=sent.error,
            channel_id=sent.channel_id,
            ts=sent.ts,
        )
        outcome = MessageOutcome(
            queued.key,
            queued.kind,
            destination.channel,
            REPORTED_STATUS[sent.status],
            sent.error,
            sent.note,
        )
        result.outcomes.append(outcome)
        _log(outcome)
        if sent.config_error:
            stop = sent.error
    return result


def _summary_delivered(state: DeliveryState, charts: str, destination: str) -> bool:
    """Charts follow their summary, never precede it."""
    summary = state.get(charts.removesuffix("/charts"), destination)
    return summary is None or summary.status == "delivered"


def _log(outcome: MessageOutcome) -> None:
    if outcome.status == "delivered":
        log.info("Slack %s %s delivered via %s", outcome.kind, outcome.key, outcome.channel)
    elif outcome.status == "failed":
        log.error("Slack %s %s failed: %s", outcome.kind, outcome.key, outcome.error)
    else:
        log.warning("Slack %s %s still pending: %s", outcome.kind, outcome.key, outcome.error)


def _crashed(key: str, kind: str, exc: Exception) -> NotifyResult:
    if not isinstance(exc, NrrError):
        log.exception("Slack notification %s could not be prepared", key)
    else:
        log.error("Slack notification %s: %s", key, exc)
    error = str(exc) if isinstance(exc, NrrError) else f"{type(exc).__name__}: {exc}"
    return NotifyResult([MessageOutcome(key, kind, "none", "failed", error)])

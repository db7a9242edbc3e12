"""Leadership-facing outputs as tasks: HTML report, Slack summary and alerts, artifacts."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from prefect import task
from prefect.cache_policies import NO_CACHE

from nrr.settings import Settings
from nrr.snapshots.store import PublishResult
from nrr.tasks.common import logger


@task(name="build-report", timeout_seconds=1800, cache_policy=NO_CACHE)
def build_report(settings: Settings, published: PublishResult, warnings: list[str]):
    """Read the published month's figures and write its HTML report; returns the summary."""
    from nrr.locking import warehouse_lock
    from nrr.reporting.html import report_path, write_html_report
    from nrr.slack.service import build_close_summary
    from nrr.warehouse import read_warehouse

    restatements = list(published.restatements)
    with warehouse_lock(settings):
        con = read_warehouse(settings)
        try:
            summary = build_close_summary(
                con,
                settings,
                published.period,
                snapshot_id=str(published.snapshot_id),
                snapshot_version=int(published.version or 1),
                restatements=restatements,
                data_quality_warnings=warnings,
            )
        finally:
            con.close()
    summary.report_path = report_path(settings, summary)
    write_html_report(settings, summary)
    logger().info("HTML report: %s", summary.report_path)
    return summary


@task(name="notify-slack", timeout_seconds=900, cache_policy=NO_CACHE)
def notify_close(settings: Settings, summary) -> dict[str, object]:
    """Post the summary and alerts exactly once; undelivered ones stay pending for next time."""
    from nrr.slack.service import notify_close as send

    result = send(settings, summary)
    for outcome in result.outcomes:
        level = "info" if outcome.status in ("delivered", "already-delivered") else "warning"
        getattr(logger(), level)(
            "slack %s %s via %s: %s%s",
            outcome.kind,
            outcome.key,
            outcome.channel,
            outcome.status,
            f" ({outcome.error})" if outcome.error else "",
        )
    return {
        "ok": result.ok,
        "errors": result.errors,
        "statuses": [(o.kind, o.status) for o in result.outcomes],
    }


@task(name="notify-blocked", timeout_seconds=900, cache_policy=NO_CACHE)
def notify_blocked(settings: Settings, month: date, report) -> dict[str, object]:
    """One alert naming the critical failures, their counts and offending examples."""
    from nrr.expectations.report import example_text, plain
    from nrr.slack.service import notify_blocked as send
    from nrr.slack.summary import BlockedFailure

    failures = [
        BlockedFailure(
            o.expectation,
            o.dataset,
            str(o.severity),
            o.unexpected_count,
            [example_text(e) if isinstance(e, dict) else str(plain(e))
             for e in (o.examples or [])][:5],
            reason=o.description
            + ("" if o.unexpected_count is not None or o.observed_value is None
               else f" (observed {plain(o.observed_value)})"),
        )
        for o in report.blocking
    ]  # fmt: skip
    result = send(settings, month, failures)
    return {"ok": result.ok, "errors": result.errors}


@task(name="notify-implausible", timeout_seconds=900, cache_policy=NO_CACHE)
def notify_implausible(settings: Settings, month: date, refusal) -> dict[str, object]:
    """One alert with the implausible figures side by side (nothing was published)."""
    from nrr.slack.service import notify_blocked as send
    from nrr.slack.summary import BlockedFailure

    failures = [
        BlockedFailure(
            "plausibility",
            f"{jump.figure} vs {jump.baseline}",
            "critical",
            None,
            [],
            reason=f"implausible {jump.side_by_side()}",
        )
        for jump in refusal.jumps
    ]
    result = send(settings, month, failures)
    return {"ok": result.ok, "errors": result.errors}


@task(name="publish-artifacts", cache_policy=NO_CACHE)
def publish_artifacts(summary, published: PublishResult, report_path: Path | None) -> None:
    """A markdown summary and the headline tables on the flow run (Prefect UI)."""
    from prefect.artifacts import create_markdown_artifact, create_table_artifact

    from nrr.reporting.format import pct

    f = summary.figures
    h = f.headline
    key = f"close-{published.period:%Y-%m}"
    lines = [
        f"# Close {published.period:%B %Y}: {published.snapshot_id} ({published.outcome})",
        "",
        f"- **NRR (trailing 12 months): {pct(h.nrr)}** — {h.benchmark_band or 'n/a'}",
        f"- **GRR: {pct(h.grr)}** — {h.grr_band or 'n/a'}",
        f"- Monthly NRR {pct(f.monthly.nrr)} (annualised {pct(f.monthly.nrr_annualised)}),"
        f" quarterly {pct(f.quarterly.nrr)}",
        f"- {published.message}",
    ]
    if report_path:
        lines.append(f"- HTML report: `{report_path}`")
    create_markdown_artifact("\n".join(lines), key=key, description="Monthly close summary")
    create_table_artifact(
        [
            {
                "dimension": s.dimension,
                "segment": s.segment,
                "customers": s.cohort_customers,
                "start_mrr": round(s.start_mrr, 2),
                "nrr": pct(s.nrr),
                "band": s.benchmark_band,
                "grr": pct(s.grr),
                "grr_band": s.grr_band,
            }
            for s in [h, *f.segments]
        ],
        key=f"{key}-segments",
        description="Trailing-12-month NRR/GRR by segment",
    )

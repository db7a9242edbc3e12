"""Threshold rules from the settings -> alerts that say what crossed what, by how much, where.

Each rule compares with a strict inequality ("below", "more than"), after rounding away
float noise, so a figure exactly on its threshold never fires. A rule set to None (or
`alert_segment_concerning = false`) is off.

- `nrr_below` / `grr_below`: headline trailing-12-month NRR / GRR below the threshold.
- `nrr_drop` / `grr_drop`: headline fell by more than `alert_drop_points` points since the
  previous month.
- `segment_concerning`: a segment *fell into* its bottom band this month: NRR band
  "concerning" (ACV bands) or "problematic" (company scale, other dimensions), or GRR band
  "concerning"/"serious". A segment already there last month is not alerted again (the
  summary shows it every month); without last month's figures every such segment counts.
- `restatement`: a ratio figure (NRR, GRR, a rate) of an earlier month moved by more than
  `alert_restatement_points` points, or appeared or disappeared, in a new snapshot version.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from nrr.reporting.figures import Figures, WindowFigure
from nrr.reporting.format import money, pct
from nrr.settings import Settings
from nrr.slack.escape import code, mrkdwn
from nrr.slack.summary import CloseSummary, Restatement

CONCERNING_NRR_BANDS = frozenset({"concerning", "problematic"})
CONCERNING_GRR_BANDS = frozenset({"concerning", "serious"})


@dataclass
class Alert:
    """One fired rule, ready to render."""

    rule: str
    title: str  # plain text, short: becomes the message header
    detail: str  # mrkdwn: what crossed what, by how much
    where: list[str] = field(default_factory=list)  # mrkdwn lines: where to look
    setting: str = ""  # which setting fired it, so readers know how to tune it


def evaluate(settings: Settings, summary: CloseSummary) -> list[Alert]:
    """All alerts the close fires, in a stable order (the order of the rules above)."""
    f = summary.figures
    alerts: list[Alert] = []
    for metric, threshold, setting in (
        ("nrr", settings.alert_nrr_below, "alert_nrr_below"),
        ("grr", settings.alert_grr_below, "alert_grr_below"),
    ):
        alert = _below(f, metric, threshold, setting, summary)
        if alert:
            alerts.append(alert)
    for metric in ("nrr", "grr"):
        alert = _drop(f, metric, settings.alert_drop_points, summary)
        if alert:
            alerts.append(alert)
    if settings.alert_segment_concerning:
        alert = _segments(summary)
        if alert:
            alerts.append(alert)
    alert = _restatements(summary, settings.alert_restatement_points)
    if alert:
        alerts.append(alert)
    return alerts


def _points(a: float, b: float) -> float:
    """a - b in percentage points, with float noise rounded away (0.30000000004 -> 0.3)."""
    return round((a - b) * 100, 9)


def _below(
    f: Figures, metric: str, threshold: float | None, setting: str, summary: CloseSummary
) -> Alert | None:
    value = getattr(f.headline, metric)
    if threshold is None or value is None or _points(threshold, value) <= 0:
        return None
    name = metric.upper()
    return Alert(
        rule=f"{metric}_below",
        title=f"{name} below {pct(threshold)}: {pct(value)} for {f.as_of:%B %Y}",
        detail=(
            f"*Trailing-12-month {name} is {pct(value)}*, below the {pct(threshold)} threshold "
            f"by *{_points(threshold, value):.1f} pts* ({f.as_of:%B %Y} close)."
        ),
        where=_where_headline(f, metric, summary),
        setting=f"{setting} = {threshold:g}",
    )


def _drop(f: Figures, metric: str, limit: float | None, summary: CloseSummary) -> Alert | None:
    prev = f.previous_headline
    value = getattr(f.headline, metric)
    before = getattr(prev, metric) if prev else None
    if limit is None or value is None or before is None:
        return None
    drop = _points(before, value)
    if drop <= limit:
        return None
    name = metric.upper()
    return Alert(
        rule=f"{metric}_drop",
        title=f"{name} dropped {drop:.1f} pts in {f.as_of:%B %Y}",
        detail=(
            f"*Trailing-12-month {name} fell from {pct(before)} to {pct(value)}*: "
            f"*{drop:.1f} pts* in one month, more than the {limit:g}-point limit."
        ),
        where=_rate_changes(f.headline, prev) + _where_headline(f, metric, summary),
        setting=f"alert_drop_points = {limit:g}",
    )


def _where_headline(f: Figures, metric: str, summary: CloseSummary) -> list[str]:
    """The weakest ACV bands, the table to query and the report."""
    lines = []
    bands = [s for s in f.segments if s.dimension == "acv_band" and getattr(s, metric) is not None]
    for s in sorted(bands, key=lambda s: getattr(s, metric))[:2]:
        band = s.benchmark_band if metric == "nrr" else s.grr_band
        lines.append(
            f"Weakest ACV band: *{mrkdwn(s.segment)}* {metric.upper()} "
            f"{pct(getattr(s, metric))} ({mrkdwn(band or 'n/a')})"
        )
    lines.append(_table_hint(f.as_of, "all", None))
    return lines + _report_hint(summary, "Segments")


def _rate_changes(now: WindowFigure, before: WindowFigure) -> list[str]:
    """Which component moved: churn, contraction or expansion rate versus last month."""
    parts = []
    for label, attr in (
        ("churn", "churn_rate"),
        ("contraction", "contraction_rate"),
        ("expansion", "expansion_rate"),
    ):
        a, b = getattr(now, attr), getattr(before, attr)
        if a is not None and b is not None:
            parts.append(f"{label} rate {pct(a)} ({_points(a, b):+.1f} pts)")
    return [f"Since last month: {', '.join(parts)}"] if parts else []


def _segments(summary: CloseSummary) -> Alert | None:
    f = summary.figures
    previous = summary.previous_period_figures
    before = _concerning(previous) if previous else set()
    newly = [
        (s, metric)
        for s in f.segments
        for metric in _concerning_metrics(s)
        if (s.dimension, s.segment, metric) not in before
    ]
    if not newly:
        return None
    lines = []
    for s, metric in newly:
        value, band = (s.nrr, s.benchmark_band) if metric == "nrr" else (s.grr, s.grr_band)
        lines.append(
            f"*{_dimension(s.dimension)} {mrkdwn(s.segment)}*: {metric.upper()} {pct(value)} "
            f"is now *{mrkdwn(band)}* ({s.cohort_customers:,} customers)"
        )
    first, metric = newly[0]
    count = len(newly)
    return Alert(
        rule="segment_concerning",
        title=(
            f"{count} segment{'s' if count > 1 else ''} fell into the bottom band "
            f"in {f.as_of:%B %Y}"
        ),
        detail="\n".join(lines),
        where=[
            _table_hint(f.as_of, first.dimension, first.segment),
            *_report_hint(summary, "Segments"),
        ],
        setting="alert_segment_concerning = true",
    )


def _concerning_metrics(s: WindowFigure) -> list[str]:
    metrics = []
    if s.benchmark_band in CONCERNING_NRR_BANDS:
        metrics.append("nrr")
    if s.grr_band in CONCERNING_GRR_BANDS:
        metrics.append("grr")
    return metrics


def _concerning(f: Figures) -> set[tuple[str, str, str]]:
    return {(s.dimension, s.segment, m) for s in f.segments for m in _concerning_metrics(s)}


def _restatements(summary: CloseSummary, limit: float | None) -> Alert | None:
    if limit is None:
        return None
    moved = [r for r in summary.restatements if r.is_ratio and _restated_beyond(r, limit)]
    if not moved:
        return None
    moved.sort(key=lambda r: -abs(r.delta) if r.delta is not None else float("-inf"))
    lines = [restatement_line(r, summary.figures.currency) for r in moved[:10]]
    if len(moved) > 10:
        lines.append(f"… and {len(moved) - 10} more in the report")
    version = summary.snapshot_version
    return Alert(
        rule="restatement",
        title=(
            f"{len(moved)} published figure{'s' if len(moved) > 1 else ''} restated by more "
            f"than {limit:g} pts (snapshot v{version})"
        ),
        detail="\n".join(lines),
        where=[
            "Query: "
            + code(
                "select * from snapshot_restatements where snapshot_id = "
                f"'{_quoted(summary.snapshot_id)}'"
            )
            + f" (v{version - 1} → v{version} of {summary.period:%Y-%m})",
            *_report_hint(summary, "Restatements"),
        ],
        setting=f"alert_restatement_points = {limit:g}",
    )


def _restated_beyond(r: Restatement, limit: float) -> bool:
    if r.old is None or r.new is None:
        return r.old is not r.new
    return abs(_points(r.new, r.old)) > limit


def restatement_line(r: Restatement, currency: str = "usd") -> str:
    """`2024-11 T12M NRR (all customers): 104.1% → 104.6% (+0.5 pts)`, customer text escaped."""
    where = (
        "all customers"
        if r.dimension == "all"
        else f"{_dimension(r.dimension)} {mrkdwn(r.segment)}"
    )
    if r.is_ratio:
        old, new = pct(r.old), pct(r.new)
        change = f" ({_points(r.new, r.old):+.1f} pts)" if r.delta is not None else ""
    else:
        old, new = money(r.old, currency, compact=False), money(r.new, currency, compact=False)
        change = ""
        if r.delta is not None:
            change = f" ({'+' if r.delta >= 0 else ''}{money(r.delta, currency, compact=False)})"
    return (
        f"{r.as_of:%Y-%m} {_window(r.window_months)} {metric_label(r.metric)} ({where}): "
        f"{old} → {new}{change}"
    )


def metric_label(metric: str) -> str:
    """start_mrr -> start MRR, nrr_annualised -> NRR annualised (escaped: it is data)."""
    words = [w.upper() if w in ("nrr", "grr", "mrr") else w for w in metric.split("_")]
    return mrkdwn(" ".join(words), 60)


def _window(months: int) -> str:
    return {1: "monthly", 3: "quarterly", 12: "T12M"}.get(months, f"{months}-month")


def _dimension(name: str) -> str:
    return "ACV band" if name == "acv_band" else mrkdwn(name.replace("_", " ").capitalize(), 60)


def _table_hint(as_of: date, dimension: str, segment: str | None) -> str:
    sql = (
        f"select * from retention_windows where as_of = '{as_of:%Y-%m-%d}' "
        f"and window_months = 12 and dimension = '{_quoted(dimension)}'"
    )
    if segment is not None:
        sql += f" and segment = '{_quoted(segment)}'"
    return f"Query: {code(sql)}"


def _quoted(text: str) -> str:
    return text.replace("'", "''")


def _report_hint(summary: CloseSummary, section: str) -> list[str]:
    if summary.report_path is None:
        return []
    return [f"Report {mrkdwn(summary.report_path.name, 200)}, section {section}"]

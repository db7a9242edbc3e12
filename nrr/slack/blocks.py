"""Block Kit rendering of the close summary, alerts and blocked-close alerts.

Written for a phone: short lines, two-column `fields` instead of tables, one section per
segment dimension. Every string that comes from customer data goes through `escape`, and
every text is cut to its Block Kit limit here, so a message is never rejected for size.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from nrr.reporting.cohort_warning import GROUP_SIZE, WARNING_POINTS, compare_cohorts
from nrr.reporting.figures import Figures, WindowFigure
from nrr.reporting.format import money, pct, points
from nrr.slack.alerts import (
    CONCERNING_GRR_BANDS,
    CONCERNING_NRR_BANDS,
    Alert,
    restatement_line,
)
from nrr.slack.escape import code, mrkdwn, plain, truncate, unescape
from nrr.slack.summary import BlockedFailure, CloseSummary

Block = dict[str, Any]

MAX_BLOCKS = 50
MAX_SECTION_TEXT = 3000
MAX_FIELDS = 10
MAX_FIELD_TEXT = 2000
MAX_HEADER = 150
MAX_CONTEXT_ELEMENTS = 10
MAX_FALLBACK_TEXT = 3000
MAX_DIMENSIONS = 8
MAX_LIST_LINES = 10

BAND_EMOJI = {
    "best-in-class": ":large_green_circle:",
    "excellent": ":large_green_circle:",
    "good": ":large_green_circle:",
    "healthy": ":large_green_circle:",
    "acceptable": ":large_yellow_circle:",
    "concerning": ":large_orange_circle:",
    "problematic": ":red_circle:",
    "serious": ":red_circle:",
}


# --- block helpers (each enforces its Block Kit limit) ---------------------------------
def header(text: str) -> Block:
    return {
        "type": "header",
        "text": {"type": "plain_text", "text": truncate(text, MAX_HEADER), "emoji": True},
    }


def section(text: str, fields: list[Block] | None = None) -> Block:
    block: Block = {
        "type": "section",
        "text": {"type": "mrkdwn", "text": truncate(text, MAX_SECTION_TEXT)},
    }
    if fields:
        block["fields"] = fields[:MAX_FIELDS]
    return block


def field(text: str, *, kind: str = "mrkdwn") -> Block:
    obj: Block = {"type": kind, "text": truncate(text, MAX_FIELD_TEXT)}
    if kind == "plain_text":
        obj["emoji"] = True
    return obj


def context(*texts: str) -> Block:
    return {
        "type": "context",
        "elements": [
            {"type": "mrkdwn", "text": truncate(t, MAX_SECTION_TEXT)}
            for t in texts[:MAX_CONTEXT_ELEMENTS]
        ],
    }


def divider() -> Block:
    return {"type": "divider"}


def bullets(lines: list[str], more: str = "in the report") -> str:
    shown = [f"• {line}" for line in lines[:MAX_LIST_LINES]]
    if len(lines) > MAX_LIST_LINES:
        shown.append(f"… and {len(lines) - MAX_LIST_LINES} more {more}")
    return "\n".join(shown)


# --- the monthly summary -----------------------------------------------------------------
def render_summary(
    summary: CloseSummary, *, files_note: str | None = None
) -> tuple[str, list[Block]]:
    """(fallback text, blocks) of the monthly close summary."""
    f = summary.figures
    h = f.headline
    blocks: list[Block] = [
        header(f"Revenue retention · {summary.period:%B %Y} close"),
        section(
            f"*Trailing 12 months to {f.as_of:%B %Y}* ({f.currency.upper()})", _headline_fields(f)
        ),
        context(*_headline_context(f)),
        divider(),
        section(_waterfall_text(f)),
        section(_churn_kind_text(f)),
        divider(),
        *_segment_sections(f),
        section(_cohort_text(summary)),
    ]
    if summary.restatements:
        plural = "s" if len(summary.restatements) > 1 else ""
        blocks.append(
            section(
                f"*Restated in snapshot v{summary.snapshot_version}* "
                f"({len(summary.restatements)} figure{plural})\n"
                + bullets([restatement_line(r, f.currency) for r in summary.restatements])
            )
        )
    if summary.data_quality_warnings:
        warnings = summary.data_quality_warnings
        blocks.append(
            section(
                f"*:warning: Data-quality warnings ({len(warnings)})*\n"
                + bullets([mrkdwn(w, 300) for w in warnings], more="in Data Docs")
            )
        )
    else:
        blocks.append(context(":white_check_mark: Data quality: every check passed."))
    blocks.append(divider())
    blocks.append(context(*_footer(summary, files_note)))
    text = (
        f"{summary.period:%B %Y} close: NRR {pct(h.nrr)} ({h.benchmark_band or 'n/a'}), "
        f"GRR {pct(h.grr)} ({h.grr_band or 'n/a'}), trailing 12 months, {f.currency.upper()}"
    )
    return truncate(text, MAX_FALLBACK_TEXT), blocks[:MAX_BLOCKS]


def _band(band: str | None) -> str:
    return f"{BAND_EMOJI.get(band or '', '')} {band}".strip() if band else "no band"


def _headline_fields(f: Figures) -> list[Block]:
    h, prev, m, q = f.headline, f.previous_headline, f.monthly, f.quarterly
    prev_month = _previous_month(f.as_of)

    def change(metric: str) -> str:
        now = getattr(h, metric)
        before = getattr(prev, metric) if prev else None
        if now is None or before is None:
            return "no figure last month"
        return f"{points(now - before)} vs {prev_month:%b}"

    return [
        field(f"*NRR*\n*{pct(h.nrr)}* {_band(h.benchmark_band)}\n{change('nrr')}"),
        field(f"*GRR*\n*{pct(h.grr)}* {_band(h.grr_band)}\n{change('grr')}"),
        field(
            f"*{f.as_of:%B} alone*\nNRR {pct(m.nrr)}, {pct(m.nrr_annualised)} annualised\n"
            f"GRR {pct(m.grr)}"
        ),
        field(f"*Last 3 months*\nNRR {pct(q.nrr)}\nGRR {pct(q.grr)}"),
    ]


def _headline_context(f: Figures) -> list[str]:
    h, b = f.headline, f.bridge
    inside = "outside" if f.reactivation_policy == "exclude" else "inside"
    return [
        f"{h.cohort_customers:,} customers with {money(h.start_mrr, f.currency)} MRR a year ago · "
        f"logo retention {pct(h.logo_retention)} · reactivated "
        f"{money(h.reactivated_mrr, f.currency)} ({inside} NRR)",
        f"MRR {money(b.get('opening_mrr'), f.currency)} → {money(b.get('closing_mrr'), f.currency)}"
        f" in {f.as_of:%B} (new {money(b.get('new'), f.currency)})",
    ]


def _waterfall_text(f: Figures) -> str:
    h = f.headline
    if not f.waterfall:
        return "*Where the 12 months went*\nNo customers a year ago: no waterfall."
    cur = f.currency
    return (
        "*Where the 12 months went* (share of MRR a year ago)\n"
        f"Start 100% · {money(h.start_mrr, cur)}\n"
        f"− Contraction {pct(h.contraction_rate)} · {money(h.contraction, cur)}\n"
        f"− Churn {pct(h.churn_rate)} · {money(h.churn, cur)}\n"
        f"+ Expansion {pct(h.expansion_rate)} · {money(h.expansion, cur)}\n"
        f"= *NRR {pct(h.nrr)}*"
    )


def _churn_kind_text(f: Figures) -> str:
    kinds = f.churn_by_kind
    total = sum(kinds.values())
    if total <= 0:
        return "*Churned MRR, last 12 months*\nNone."
    parts = [
        f"{label} {money(kinds.get(kind, 0.0), f.currency)} ({kinds.get(kind, 0.0) / total:.0%})"
        for label, kind in (
            ("Voluntary", "voluntary"),
            ("Involuntary", "involuntary"),
            ("Unknown", "unknown"),
        )
        if kind != "unknown" or kinds.get(kind, 0.0) > 0
    ]
    return "*Churned MRR, last 12 months*\n" + " · ".join(parts)


def _segment_sections(f: Figures) -> list[Block]:
    dimensions: dict[str, list[WindowFigure]] = {}
    for s in f.segments:
        dimensions.setdefault(s.dimension, []).append(s)
    blocks = []
    for dimension, segments in list(dimensions.items())[:MAX_DIMENSIONS]:
        fields = [field(_segment_text(s), kind="plain_text") for s in segments]
        if len(fields) > MAX_FIELDS:
            hidden = segments[MAX_FIELDS - 1 :]
            worrying = sum(1 for s in hidden if _is_concerning(s))
            more = f"+{len(hidden)} smaller segments ({worrying} in a bottom band): see the report"
            fields = [*fields[: MAX_FIELDS - 1], field(more)]
        blocks.append(section(f"*By {_dimension_label(dimension)}* · trailing 12 months", fields))
    if len(dimensions) > MAX_DIMENSIONS:
        blocks.append(context(f"{len(dimensions) - MAX_DIMENSIONS} more dimensions in the report."))
    return blocks


def _is_concerning(s: WindowFigure) -> bool:
    return s.benchmark_band in CONCERNING_NRR_BANDS or s.grr_band in CONCERNING_GRR_BANDS


def _segment_text(s: WindowFigure) -> str:
    warn = ":warning: " if _is_concerning(s) else ""
    return (
        f"{warn}{plain(s.segment, 60)} · {s.cohort_customers:,} cust.\n"
        f"NRR {pct(s.nrr)} {s.benchmark_band or 'no band'}\n"
        f"GRR {pct(s.grr)} {s.grr_band or 'no band'}"
    )


def _dimension_label(dimension: str) -> str:
    return "ACV band" if dimension == "acv_band" else mrkdwn(dimension.replace("_", " "), 60)


def _cohort_text(summary: CloseSummary) -> str:
    comparisons = compare_cohorts(summary.cohort_matrix, summary.period)
    if not comparisons:
        return (
            f"*Cohorts*: fewer than {2 * GROUP_SIZE} acquisition cohorts have reached "
            "month 6 yet; no comparison."
        )
    warned = [c for c in comparisons if c.warning]
    title = (
        ":warning: *Cohort warning sign*: newer cohorts retain worse than older ones"
        if warned
        else "*Cohorts*: newer cohorts retain in line with older ones"
    )
    lines = [
        f"Month {c.age_months}: last {GROUP_SIZE} cohorts ({_span(c.newer_cohorts)}) "
        f"{pct(c.newer_mean)} vs {pct(c.older_mean)} for the {GROUP_SIZE} before "
        f"({points(c.newer_mean - c.older_mean)})"
        for c in comparisons
    ]
    rule = f"_Sign raised when the newer ones trail by more than {WARNING_POINTS:g} pts._"
    return "\n".join([title, *lines, rule])


def _span(cohorts: tuple[date, ...]) -> str:
    return f"{cohorts[0]:%b %y}–{cohorts[-1]:%b %y}"


def _footer(summary: CloseSummary, files_note: str | None) -> list[str]:
    texts = [
        f"Snapshot {code(summary.snapshot_id, 80)} v{summary.snapshot_version} · "
        f"reactivations {summary.figures.reactivation_policy}d · "
        f"numbers in {summary.figures.currency.upper()}"
    ]
    if files_note:
        texts.append(files_note)
    elif summary.report_path is not None:
        texts.append(f"Full report: {code(summary.report_path, 300)}")
    return texts


def _previous_month(month: date) -> date:
    return date(month.year - (month.month == 1), (month.month - 2) % 12 + 1, 1)


# --- alerts --------------------------------------------------------------------------------
def render_alert(alert: Alert, summary: CloseSummary) -> tuple[str, list[Block]]:
    blocks = [
        header(f":rotating_light: {alert.title}"),
        section(alert.detail),
    ]
    if alert.where:
        blocks.append(section("*Where to look*\n" + bullets(alert.where)))
    blocks.append(
        context(
            f"Rule `{alert.setting}` · {summary.period:%B %Y} close · "
            f"snapshot v{summary.snapshot_version}"
        )
    )
    return truncate(f"Alert: {mrkdwn(alert.title, None)}", MAX_FALLBACK_TEXT), blocks


def render_blocked(period: date, failures: list[BlockedFailure]) -> tuple[str, list[Block]]:
    count = len(failures)
    blocks = [
        header(f":no_entry: {period:%B %Y} close blocked by data quality"),
        section(
            f"*Nothing was published.* {count} critical check{'s' if count != 1 else ''} failed, "
            "so no snapshot of this month was written; the latest published figures stand."
        ),
    ]
    for failure in failures[:MAX_LIST_LINES]:
        rows = (
            f"{failure.unexpected_count:,} unexpected rows"
            if failure.unexpected_count is not None
            else "failed"
        )
        what = (
            f"*{mrkdwn(failure.reason, 300)}* ({mrkdwn(failure.dataset, 150)})"
            if failure.reason
            else f"{code(failure.expectation, 150)} on {code(failure.dataset, 150)}"
        )
        text = f"{what}\n{rows} · severity {mrkdwn(failure.severity, 20)}"
        if failure.examples:
            text += "\nExamples: " + ", ".join(code(e, 80) for e in failure.examples[:5])
        blocks.append(section(text))
    if count > MAX_LIST_LINES:
        blocks.append(context(f"… and {count - MAX_LIST_LINES} more failed checks in Data Docs."))
    blocks.append(
        context(
            "Where to look: the Data Docs of this run list every failing row. Fix the source "
            "data (or the contract), then re-run the close."
        )
    )
    text = f"Alert: {period:%B %Y} close blocked, {count} critical data-quality failure(s)"
    return text, blocks


def render_failed(
    period: date, step: str, reason: str, run_url: str | None
) -> tuple[str, list[Block]]:
    """A close that failed or crashed: which step, the one-line reason, where the run is."""
    where = f"<{run_url}|the flow run in Prefect>" if run_url else "the flow run in Prefect"
    blocks = [
        header(f":rotating_light: {period:%B %Y} close failed"),
        section(
            f"*Step:* {code(step, 100)}\n*Reason:* {mrkdwn(reason, 1500)}\n"
            "Nothing new was published by this run; the latest published figures stand."
        ),
        context(f"Logs and the state of every step: {where}. Fix the cause, then re-run."),
    ]
    text = f"Alert: {period:%B %Y} close failed at step {step}: {truncate(reason, 500)}"
    return text, blocks


# --- checks and plain-text rendering ----------------------------------------------------------
def limit_problems(blocks: list[Block]) -> list[str]:
    """Every way `blocks` breaks Slack's documented Block Kit limits (empty when valid)."""
    problems = []
    if len(blocks) > MAX_BLOCKS:
        problems.append(f"{len(blocks)} blocks (max {MAX_BLOCKS})")
    for i, block in enumerate(blocks):
        kind = block.get("type")
        text = (block.get("text") or {}).get("text", "")
        if kind == "header" and len(text) > MAX_HEADER:
            problems.append(f"block {i}: header of {len(text)} chars (max {MAX_HEADER})")
        if kind == "section":
            if len(text) > MAX_SECTION_TEXT:
                problems.append(f"block {i}: section text of {len(text)} chars")
            fields = block.get("fields", [])
            if len(fields) > MAX_FIELDS:
                problems.append(f"block {i}: {len(fields)} fields (max {MAX_FIELDS})")
            problems += [
                f"block {i}: field of {len(fl['text'])} chars"
                for fl in fields
                if len(fl["text"]) > MAX_FIELD_TEXT
            ]
            if not text and not fields:
                problems.append(f"block {i}: empty section")
        if kind == "context" and len(block.get("elements", [])) > MAX_CONTEXT_ELEMENTS:
            problems.append(f"block {i}: more than {MAX_CONTEXT_ELEMENTS} context elements")
    return problems


def to_text(blocks: list[Block]) -> str:
    """A readable plain-text rendering of blocks, for the outbox's .txt file."""
    lines: list[str] = []
    for block in blocks:
        kind = block.get("type")
        if kind == "header":
            title = block["text"]["text"]
            lines += [title, "=" * len(title)]
        elif kind == "section":
            if block.get("text", {}).get("text"):
                lines.append(unescape(block["text"]["text"]))
            for fl in block.get("fields", []):
                lines.append("  " + unescape(fl["text"]).replace("\n", "\n  "))
        elif kind == "context":
            lines += [unescape(e["text"]) for e in block["elements"]]
        elif kind == "divider":
            lines.append("-" * 40)
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"

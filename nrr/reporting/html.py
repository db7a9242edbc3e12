"""A static HTML report of one close: one self-contained file (charts embedded as base64).

Sections: headline, trend chart, waterfall, MRR bridge, segments with benchmark bands,
cohort warning sign and heatmap, data-quality result, restatements. Jinja2 autoescaping
keeps customer-derived names inert. The file is written atomically next to the warehouse
(`<data_dir>/reports/YYYY-MM-vN.html`), so the outbox message and the Prefect artifact can
link to it and the bot can attach it.
"""

from __future__ import annotations

import base64
import os
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from jinja2 import Environment, select_autoescape

from nrr.reporting.cohort_warning import GROUP_SIZE, WARNING_POINTS, compare_cohorts
from nrr.reporting.figures import CURVE_AGES
from nrr.reporting.format import money, pct, points
from nrr.reporting.html_template import TEMPLATE
from nrr.settings import Settings

if TYPE_CHECKING:
    from nrr.slack.summary import CloseSummary

BAND_CLASS = {
    "best-in-class": "top",
    "excellent": "top",
    "good": "ok",
    "healthy": "ok",
    "acceptable": "mid",
    "concerning": "low",
    "problematic": "bad",
    "serious": "bad",
}


def report_path(settings: Settings, summary: CloseSummary) -> Path:
    return settings.reports_dir / f"{summary.period:%Y-%m}-v{summary.snapshot_version}.html"


def write_html_report(
    settings: Settings, summary: CloseSummary, *, charts: dict[str, Path] | None = None
) -> Path:
    """Render the report of `summary`; `charts` reuses PNGs already drawn (trend, cohorts)."""
    path = report_path(settings, summary)
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=path.parent) as scratch:
        images = _images(summary, charts or {}, Path(scratch))
        html = render_html(summary, images)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(html, encoding="utf-8")
    os.replace(tmp, path)
    return path


def render_html(summary: CloseSummary, images: dict[str, str]) -> str:
    """The report as a string; `images` maps chart name -> data URI."""
    env = Environment(autoescape=select_autoescape(default=True, default_for_string=True))
    env.filters.update(
        pct=pct,
        points=points,
        money=lambda v, cur=summary.figures.currency: money(v, cur),
        band_class=lambda b: BAND_CLASS.get(b or "", "none"),
    )
    f = summary.figures
    prev = f.previous_headline
    return env.from_string(TEMPLATE).render(
        s=summary,
        f=f,
        h=f.headline,
        nrr_change=_change(f.headline.nrr, prev.nrr if prev else None),
        grr_change=_change(f.headline.grr, prev.grr if prev else None),
        images=images,
        comparisons=compare_cohorts(summary.cohort_matrix, summary.period),
        group_size=GROUP_SIZE,
        warning_points=WARNING_POINTS,
        curve_ages=CURVE_AGES,
        dimensions=_by_dimension(summary),
        bridge_lines=_bridge_lines(f.bridge),
        generated=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
    )


def _change(now: float | None, before: float | None) -> str:
    return points(now - before) if now is not None and before is not None else "n/a"


def _by_dimension(summary: CloseSummary) -> dict[str, list]:
    groups: dict[str, list] = {}
    for s in summary.figures.segments:
        label = (
            "ACV band" if s.dimension == "acv_band" else s.dimension.replace("_", " ").capitalize()
        )
        groups.setdefault(label, []).append(s)
    return groups


def _bridge_lines(bridge: dict[str, float]) -> list[tuple[str, float]]:
    """Labels carry the sign, amounts are shown as they are stored (positive movements)."""
    return [
        (label, bridge.get(key, 0.0))
        for label, key in (
            ("Opening MRR", "opening_mrr"),
            ("+ New", "new"),
            ("+ Reactivation", "reactivation"),
            ("+ Expansion", "expansion"),
            ("− Contraction", "contraction"),
            ("− Churn", "churn"),
            ("± FX adjustment", "fx_adjustment"),
            ("Closing MRR", "closing_mrr"),
        )
    ]


def _images(summary: CloseSummary, charts: dict[str, Path], scratch: Path) -> dict[str, str]:
    from nrr.reporting.charts import cohort_heatmap, trend_chart, waterfall_chart

    paths = {
        "trend": charts.get("trend") or trend_chart(summary.figures, scratch / "trend.png"),
        "cohorts": charts.get("cohorts")
        or cohort_heatmap(summary.cohort_matrix, summary.period, scratch / "cohorts.png"),
        "waterfall": charts.get("waterfall")
        or waterfall_chart(summary.figures, scratch / "waterfall.png"),
    }
    return {
        name: "data:image/png;base64," + base64.b64encode(path.read_bytes()).decode("ascii")
        for name, path in paths.items()
    }

"""The HTML report of a close and the PNG charts it shares with Slack."""

from __future__ import annotations

import base64
import dataclasses
import json
import re
from datetime import date
from html.parser import HTMLParser

from nrr.reporting.charts import (
    HEATMAP_SIZE,
    TREND_SIZE,
    WATERFALL_SIZE,
    cohort_heatmap,
    company_bands,
    trend_chart,
    waterfall_chart,
)
from nrr.reporting.cohort_warning import compare_cohorts
from nrr.reporting.format import money, pct
from nrr.reporting.html import write_html_report
from nrr.slack.blocks import limit_problems, render_summary
from nrr.slack.service import notify_close
from nrr.slack.summary import Restatement
from tests.slack.helpers import PERIOD, close, make_settings, png_size, window


class Collector(HTMLParser):
    """Text and <img> sources of a page, as a browser would see them."""

    def __init__(self):
        super().__init__()
        self.text: list[str] = []
        self.images: list[str] = []
        self.tags: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        if tag == "img":
            self.images.append(dict(attrs)["src"])

    def handle_data(self, data):
        self.text.append(data)


def test_report_shows_every_section_with_the_figures(tmp_path, summary):
    restated = dataclasses.replace(
        summary,
        snapshot_version=2,
        restatements=[Restatement(date(2024, 5, 1), 12, "acv_band", "SMB", "nrr", 0.90, 0.92)],
        data_quality_warnings=["ledger: 2 rows with an unknown currency"],
    )

    path = write_html_report(make_settings(tmp_path), restated)

    assert path == tmp_path / "reports" / "2024-06-v2.html"
    page = Collector()
    page.feed(path.read_text(encoding="utf-8"))
    text = re.sub(r"\s+", " ", " ".join(page.text))
    h = summary.figures.headline
    for expected in (
        "Headline",
        "Trend",
        "Waterfall",
        "Segments",
        "Acquisition cohorts",
        "Data quality",
        "Restatements",
        pct(h.nrr),
        pct(h.grr),
        money(h.start_mrr),
        "ledger: 2 rows with an unknown currency",
        "90.0%",
        "92.0%",
        "+2.0 pts",
    ):
        assert expected in text, expected
    for s in summary.figures.segments:
        assert f"{s.segment} {s.cohort_customers:,} {money(s.start_mrr)} {pct(s.nrr)}" in text
    sizes = sorted(png_size(base64.b64decode(src.split(",", 1)[1])) for src in page.images)
    assert sizes == sorted([TREND_SIZE, HEATMAP_SIZE, WATERFALL_SIZE])
    assert not list(tmp_path.glob("reports/.*"))  # no temporary files left behind


def test_report_escapes_customer_text(tmp_path, summary):
    f = summary.figures
    evil = dataclasses.replace(f.segments[0], segment="<script>alert(1)</script>")
    hostile = dataclasses.replace(
        summary, figures=dataclasses.replace(f, segments=[evil, *f.segments[1:]])
    )

    html = write_html_report(make_settings(tmp_path), hostile).read_text()

    assert "<script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_charts_are_pngs_of_the_documented_size(tmp_path, summary):
    trend = trend_chart(summary.figures, tmp_path / "t.png")
    heat = cohort_heatmap(summary.cohort_matrix, PERIOD, tmp_path / "h.png")
    fall = waterfall_chart(summary.figures, tmp_path / "w.png")
    assert png_size(trend.read_bytes()) == TREND_SIZE
    assert png_size(heat.read_bytes()) == HEATMAP_SIZE
    assert png_size(fall.read_bytes()) == WATERFALL_SIZE
    empty = cohort_heatmap([], PERIOD, tmp_path / "empty.png")
    assert png_size(empty.read_bytes()) == HEATMAP_SIZE


def test_trend_bands_come_from_the_benchmark_seed():
    bands = company_bands()
    assert [b[0] for b in bands["nrr"]] == ["excellent", "healthy", "problematic"]
    assert ("healthy", 1.0, 1.2) in bands["nrr"]
    assert ("concerning", 0.8, 0.85) in bands["grr"]


def test_cohort_warning_rule():
    def matrix(values_at_6):
        return [(date(2023, m, 1), 6, v) for m, v in enumerate(values_at_6, start=1)]

    # older 3 average 1.00, newer 3 average 0.97: 3 points worse -> warning
    [c] = compare_cohorts(matrix([1.0, 1.0, 1.0, 0.97, 0.97, 0.97]), date(2024, 1, 1))
    assert (c.age_months, c.warning) == (6, True)
    assert round(c.gap_points, 6) == 3.0
    # exactly 2 points is not *more than* 2
    [c] = compare_cohorts(matrix([1.0, 1.0, 1.0, 0.98, 0.98, 0.98]), date(2024, 1, 1))
    assert not c.warning
    # cohorts that have not reached month 6 by the period are left out -> too few
    assert compare_cohorts(matrix([1.0] * 6), date(2023, 10, 1)) == []


def test_a_month_without_any_cohort_still_renders_everywhere(tmp_path):
    empty = close(window(nrr=None, grr=None, band=None, grr_band=None))
    empty.figures.trend = [
        {"as_of": date(2025, 3, 1), "nrr": None, "grr": None, "monthly_nrr": None}
    ]
    empty.report_path = None

    _, blocks = render_summary(empty)
    assert limit_problems(blocks) == []
    assert "*n/a* no band" in json.dumps(blocks, ensure_ascii=False)
    result = notify_close(make_settings(tmp_path), empty)
    assert result.ok, result.errors
    assert (tmp_path / "reports" / "2025-03-v2.html").is_file()

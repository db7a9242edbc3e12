"""The Block Kit summary: the figures it shows, Slack's limits, and the kept example."""

from __future__ import annotations

import dataclasses
import json
import os
from datetime import date
from pathlib import Path

import pytest

from nrr.reporting.format import money, pct
from nrr.slack.alerts import evaluate
from nrr.slack.blocks import (
    MAX_BLOCKS,
    MAX_FIELDS,
    limit_problems,
    render_alert,
    render_blocked,
    render_summary,
    to_text,
)
from nrr.slack.summary import BlockedFailure, Restatement
from tests.slack.helpers import PERIOD, make_settings

EXAMPLE = Path(__file__).with_name("example_summary.json")
REGENERATE = "REGENERATE_SLACK_EXAMPLE"
FILES_NOTE = "Charts and the full HTML report follow in this channel."


def example_summary(summary):
    """The kept example: a real close plus a restatement and a data-quality warning."""
    return dataclasses.replace(
        summary,
        snapshot_version=2,
        restatements=[
            Restatement(date(2024, 5, 1), 12, "acv_band", "SMB", "nrr", 0.9312, 0.9378),
            Restatement(date(2024, 5, 1), 12, "all", "all", "start_mrr", 812_004.5, 812_104.5),
        ],
        data_quality_warnings=["ledger: 3 rows with a country outside ISO 3166 (e.g. 'UK')"],
    )


def field_with(blocks, title: str) -> str:
    for block in blocks:
        for f in block.get("fields", []):
            if f["text"].startswith(title):
                return f["text"]
    raise AssertionError(f"no field starting with {title!r}")


def section_with(blocks, title: str) -> str:
    for block in blocks:
        text = (block.get("text") or {}).get("text", "")
        if title in text:
            return text
    raise AssertionError(f"no section containing {title!r}")


def test_summary_figures_equal_the_warehouse(warehouse, summary):
    def window(months: int, dimension: str = "all", segment: str = "all"):
        return warehouse.execute(
            """select nrr, grr, nrr_annualised, start_mrr, expansion, contraction, churn,
                      benchmark_band, grr_band, contraction_rate, churn_rate, expansion_rate
               from retention_windows where as_of = ? and window_months = ?
               and dimension = ? and segment = ?""",
            [PERIOD, months, dimension, segment],
        ).fetchone()

    _, blocks = render_summary(summary)
    t12, m1, q3 = window(12), window(1), window(3)
    prev = warehouse.execute(
        "select nrr, grr from retention_windows where as_of = ? and window_months = 12 "
        "and dimension = 'all'",
        [date(2024, 5, 1)],
    ).fetchone()

    nrr = field_with(blocks, "*NRR*")
    assert f"*{pct(t12[0])}*" in nrr and t12[7] in nrr
    assert f"{(t12[0] - prev[0]) * 100:+.1f} pts vs May" in nrr
    grr = field_with(blocks, "*GRR*")
    assert f"*{pct(t12[1])}*" in grr and t12[8] in grr
    assert f"{(t12[1] - prev[1]) * 100:+.1f} pts vs May" in grr
    month = field_with(blocks, "*June alone*")
    assert f"NRR {pct(m1[0])}, {pct(m1[2])} annualised" in month
    assert f"GRR {pct(m1[1])}" in month
    assert f"NRR {pct(q3[0])}" in field_with(blocks, "*Last 3 months*")
    waterfall = section_with(blocks, "Where the 12 months went")
    for value in (
        money(t12[3]),
        pct(t12[9]),
        money(t12[5]),
        pct(t12[10]),
        money(t12[6]),
        pct(t12[11]),
        money(t12[4]),
        f"= *NRR {pct(t12[0])}*",
    ):
        assert value in waterfall
    smb = window(12, "acv_band", "SMB")
    segment = field_with(blocks, ":warning: SMB" if smb[7] == "concerning" else "SMB")
    assert f"NRR {pct(smb[0])} {smb[7]}" in segment and f"GRR {pct(smb[1])} {smb[8]}" in segment
    churn = warehouse.execute(
        """select churn_kind, sum(amount) from mrr_movements where movement = 'churn'
           and month > ? - interval 12 month and month <= ? group by all""",
        [PERIOD, PERIOD],
    ).fetchall()
    kinds = section_with(blocks, "Churned MRR, last 12 months")
    for kind, amount in churn:
        assert f"{kind.capitalize()} {money(amount)}" in kinds


def test_every_segment_of_every_dimension_is_shown(summary):
    _, blocks = render_summary(summary)
    text = json.dumps(blocks, ensure_ascii=False)
    for s in summary.figures.segments:
        assert f"{s.segment} · {s.cohort_customers:,} cust." in text
    assert {"By ACV band", "By plan", "By country", "By channel"} <= {
        b["text"]["text"].split("*")[1] for b in blocks if b.get("fields")
    }


def test_kept_example_matches_the_renderer_and_slack_limits(summary):
    text, blocks = render_summary(example_summary(summary), files_note=FILES_NOTE)
    rendered = {"text": text, "blocks": blocks}
    if os.environ.get(REGENERATE):
        EXAMPLE.write_text(json.dumps(rendered, indent=2, ensure_ascii=False) + "\n")
    kept = json.loads(EXAMPLE.read_text())
    assert limit_problems(kept["blocks"]) == []
    assert len(kept["blocks"]) <= MAX_BLOCKS
    assert rendered == kept, (
        f"the summary rendering changed; review it and regenerate {EXAMPLE.name} with "
        f"{REGENERATE}=1 pytest {Path(__file__).name}"
    )


def test_huge_inputs_still_fit_slack_limits(summary):
    f = summary.figures
    many = [
        dataclasses.replace(f.segments[-1], dimension=f"dim{d}", segment=f"seg {i} " * 40)
        for d in range(12)
        for i in range(30)
    ]
    big = dataclasses.replace(
        summary,
        figures=dataclasses.replace(f, segments=f.segments + many),
        restatements=[Restatement(date(2024, 5, 1), 12, "plan", "x" * 500, "nrr", 0.9, 0.95)] * 80,
        data_quality_warnings=["a very long warning " * 100] * 60,
        snapshot_id="s" * 500,
    )
    _, blocks = render_summary(big, files_note=FILES_NOTE)
    assert limit_problems(blocks) == []
    assert any(
        f"+{30 - MAX_FIELDS + 1} smaller segments" in fl["text"]
        for b in blocks
        for fl in b.get("fields", [])
    )
    _, alert_blocks = render_alert(evaluate(make_settings(Path(".")), big)[-1], big)
    assert limit_problems(alert_blocks) == []
    _, blocked = render_blocked(
        PERIOD, [BlockedFailure("e" * 300, "d" * 300, "critical", 10**9, ["x" * 1000] * 50)] * 40
    )
    assert limit_problems(blocked) == []


@pytest.mark.parametrize(
    ("blocks", "problem"),
    [
        ([{"type": "divider"}] * 51, "51 blocks"),
        ([{"type": "header", "text": {"type": "plain_text", "text": "h" * 151}}], "header"),
        ([{"type": "section", "text": {"type": "mrkdwn", "text": "s" * 3001}}], "section text"),
        (
            [
                {
                    "type": "section",
                    "text": {"type": "mrkdwn", "text": "s"},
                    "fields": [{"type": "mrkdwn", "text": "f"}] * 11,
                }
            ],
            "11 fields",
        ),
        ([{"type": "section", "fields": [{"type": "mrkdwn", "text": "f" * 2001}]}], "field of"),
    ],
)
def test_limit_check_catches_each_violation(blocks, problem):
    problems = limit_problems(blocks)
    assert problems and problem in problems[0]


def test_text_rendering_is_readable(summary):
    _, blocks = render_summary(summary)
    text = to_text(blocks)
    assert text.startswith("Revenue retention · June 2024 close\n===")
    assert "&lt;" not in text and "Where the 12 months went" in text

"""Customer-derived text cannot ping a channel, mention anyone, link or format in Slack."""

from __future__ import annotations

import json
import re
from datetime import date

import pyarrow as pa
import pyarrow.compute as pc
from hypothesis import given
from hypothesis import strategies as st

from nrr.compute import compute
from nrr.sandbox.ledger_generator import generate_ledger, write_ledger
from nrr.slack.escape import code, mrkdwn, plain
from nrr.slack.service import build_close_summary, notify_close
from nrr.slack.summary import BlockedFailure, Restatement
from nrr.warehouse import read_warehouse
from tests.slack.helpers import PERIOD, bot_settings, make_settings

HOSTILE = [
    "<!channel> *Pro*",
    "@here _team_",
    "<@U024BE7LH> & co",
    "<https://evil.example|x>",
    "`code` ~strike~",
    "<!subteam^S123> @everyone",
]
# What Slack would turn into a ping, a mention or a link if sent unescaped...
ACTIVE = re.compile(r"<[!@#]|<https?:|@(here|channel|everyone)\b")
# ... and what mrkdwn would turn into formatting (plain_text shows it literally).
FORMATTING = re.compile(r"\*Pro\*|_team_|~strike~|`code`")


def hostile_warehouse(tmp_path):
    """A real ledger whose plan and country names are hostile, run through the real engine."""
    generated = generate_ledger(150, 30, first_month=date(2022, 1, 1), seed=3)
    ledger = generated.ledger
    index = pa.array([i % len(HOSTILE) for i in range(ledger.num_rows)])
    plans = pc.take(pa.array(HOSTILE), index)
    ledger = ledger.set_column(ledger.schema.get_field_index("plan"), "plan", plans)
    settings = make_settings(tmp_path)
    compute(settings, PERIOD, write_ledger(ledger, tmp_path / "ledger.csv"))
    return settings


def visible_texts(blocks) -> list[tuple[str, str]]:
    """(text type, text) of everything Slack would render from these blocks."""
    texts = []
    for block in blocks:
        for part in [block.get("text"), *block.get("fields", []), *block.get("elements", [])]:
            if part:
                texts.append((part["type"], part["text"]))
    return texts


def test_hostile_segment_names_are_inert_in_every_message(tmp_path, slack):
    settings = hostile_warehouse(tmp_path)
    con = read_warehouse(settings)
    try:
        summary = build_close_summary(
            con,
            settings,
            PERIOD,
            snapshot_id="<!channel>",
            snapshot_version=2,
            restatements=[
                Restatement(date(2024, 5, 1), 12, "plan", h, "nrr", 0.5, 0.9) for h in HOSTILE
            ],
            data_quality_warnings=HOSTILE,
        )
    finally:
        con.close()
    assert {s.segment for s in summary.figures.segments if s.dimension == "plan"} == set(HOSTILE)
    bot = bot_settings(
        tmp_path,
        slack,
        alert_nrr_below=2.0,
        alert_segment_concerning=True,
        alert_restatement_points=0.5,
    )
    result = notify_close(bot, summary)
    blocked = BlockedFailure("<!here>", "@channel", "critical", 1, HOSTILE)
    from nrr.slack.service import notify_blocked

    notify_blocked(bot, PERIOD, [blocked])
    assert result.ok
    posted = [p for p in slack.messages() if p.blocks]
    assert {
        (p.metadata or {})["event_payload"]["idempotency_key"].split("/")[-1] for p in posted
    } >= {"v2", "nrr_below", "segment_concerning", "restatement"}
    for message in posted:
        for kind, text in [("mrkdwn", message.text), *visible_texts(message.blocks)]:
            assert not ACTIVE.search(text), text
            outside_code = re.sub(r"`[^`]*`", "", text)  # code spans are never formatted
            assert kind == "plain_text" or not FORMATTING.search(outside_code), text
    everything = json.dumps([p.blocks for p in posted], ensure_ascii=False)
    assert "&lt;!channel&gt;" in everything  # shown to people, as typed, but inert
    assert "＠here" in everything


@given(st.text())
def test_mrkdwn_escape_leaves_nothing_active(text):
    escaped = mrkdwn(text, None)
    assert not set(escaped) & set("<>*_~`@")
    assert re.sub(r"&(amp|lt|gt);", "", escaped).count("&") == 0


@given(st.text())
def test_plain_and_code_escapes(text):
    assert not set(plain(text, None)) & set("<>@")
    inner = code(text, None)[1:-1]
    assert not set(inner) & set("<>`@")


def test_escape_keeps_the_text_recognisable():
    assert mrkdwn("R&D <Pro> *plan*") == "R&amp;D &lt;Pro&gt; ∗plan∗"
    assert mrkdwn("x" * 300, 10) == "xxxxxxxxx…"
    assert code("select 'a_b'") == "`select 'a_b'`"

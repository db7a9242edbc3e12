"""Threshold alerts fire exactly when their rule says: boundaries, disabled rules, content."""

from __future__ import annotations

import dataclasses
from datetime import date
from pathlib import Path

import pytest

from nrr.slack.alerts import evaluate
from nrr.slack.service import notify_close
from nrr.slack.summary import CloseSummary, Restatement
from tests.slack.helpers import bot_settings, close, make_settings, window

OFF = {
    "alert_nrr_below": None,
    "alert_grr_below": None,
    "alert_drop_points": None,
    "alert_segment_concerning": False,
    "alert_restatement_points": None,
}


def rules(summary: CloseSummary, **settings: object) -> list[str]:
    return [a.rule for a in evaluate(make_settings(Path("."), **{**OFF, **settings}), summary)]


@pytest.mark.parametrize(
    ("nrr", "threshold", "fires"),
    [
        (0.9999, 1.0, True),
        (1.0, 1.0, False),
        (1.0001, 1.0, False),
        (0.1 * 8.5, 0.85, False),
        (0.8499, 0.85, True),
        (0.5, None, False),
        (None, 1.0, False),
    ],
)
def test_nrr_below(nrr, threshold, fires):
    assert rules(close(window(nrr=nrr)), alert_nrr_below=threshold) == (
        ["nrr_below"] if fires else []
    )


@pytest.mark.parametrize(
    ("grr", "threshold", "fires"),
    [(0.8499, 0.85, True), (0.85, 0.85, False), (0.86, 0.85, False), (0.2, None, False)],
)
def test_grr_below(grr, threshold, fires):
    assert rules(close(window(grr=grr)), alert_grr_below=threshold) == (
        ["grr_below"] if fires else []
    )


@pytest.mark.parametrize(
    ("before", "now", "limit", "fires"),
    [
        (1.05, 1.02, 3.0, False),  # exactly 3 points: not *more than* 3
        (1.05, 1.0199, 3.0, True),
        (1.05, 1.06, 3.0, False),
        (1.05, 0.5, None, False),
    ],
)
def test_nrr_and_grr_drop(before, now, limit, fires):
    summary = close(window(nrr=now, grr=now - 0.1), previous=window(nrr=before, grr=before - 0.1))
    expected = ["nrr_drop", "grr_drop"] if fires else []
    assert rules(summary, alert_drop_points=limit) == expected


def test_drop_needs_last_month():
    assert rules(close(window(nrr=0.5)), alert_drop_points=0.0) == []


def test_drop_alert_says_what_moved():
    summary = close(window(nrr=1.00, churn_rate=0.09), previous=window(nrr=1.05, churn_rate=0.05))
    [alert] = evaluate(make_settings(Path("."), **{**OFF, "alert_drop_points": 3.0}), summary)
    assert "fell from 105.0% to 100.0%" in alert.detail and "*5.0 pts*" in alert.detail
    assert any("churn rate 9.0% (+4.0 pts)" in line for line in alert.where)
    assert alert.setting == "alert_drop_points = 3"


def test_below_alert_says_by_how_much_and_where_to_look():
    smb = window(
        0.80, 0.7, dimension="acv_band", segment="SMB", band="concerning", grr_band="serious"
    )
    summary = close(window(nrr=0.987), segments=[smb])
    [alert] = evaluate(make_settings(Path("."), **{**OFF, "alert_nrr_below": 1.0}), summary)
    assert alert.title == "NRR below 100.0%: 98.7% for March 2025"
    assert "below the 100.0% threshold by *1.3 pts*" in alert.detail
    assert any("*SMB* NRR 80.0%" in line for line in alert.where)
    assert any("retention_windows" in line and "'2025-03-01'" in line for line in alert.where)
    assert any("2025-03-v2.html" in line for line in alert.where)


def test_segment_falling_into_its_bottom_band():
    ok = window(1.1, 0.95, dimension="plan", segment="pro", band="healthy")
    bad = window(0.9, 0.95, dimension="plan", segment="pro", band="problematic")
    serious_grr = window(
        1.1, 0.7, dimension="acv_band", segment="SMB", band="best-in-class", grr_band="serious"
    )
    # fell in this month -> fires
    assert rules(close(window(), window(), [bad], [ok]), alert_segment_concerning=True) == [
        "segment_concerning"
    ]
    # already there last month -> the summary shows it, no new alert
    assert rules(close(window(), window(), [bad], [bad]), alert_segment_concerning=True) == []
    # unknown last month -> every bottom-band segment counts
    assert rules(close(window(), segments=[bad]), alert_segment_concerning=True) == [
        "segment_concerning"
    ]
    # a GRR band counts too; the rule can be switched off
    assert rules(close(window(), segments=[serious_grr]), alert_segment_concerning=True) == [
        "segment_concerning"
    ]
    assert rules(close(window(), segments=[bad]), alert_segment_concerning=False) == []
    assert rules(close(window(), segments=[ok]), alert_segment_concerning=True) == []


@pytest.mark.parametrize(
    ("metric", "old", "new", "fires"),
    [
        ("nrr", 0.9, 0.905, False),  # exactly 0.5 points
        ("nrr", 0.9, 0.9051, True),
        ("grr", 0.9, 0.8949, True),
        ("churn_rate", 0.05, 0.06, True),
        ("start_mrr", 100.0, 1_000_000.0, False),  # money figures are shown, not alerted
        ("nrr", None, 0.9, True),
        ("nrr", None, None, False),
    ],
)
def test_restatement(metric, old, new, fires):
    restated = Restatement(date(2025, 1, 1), 12, "all", "all", metric, old, new)
    summary = close(window(), restatements=[restated])
    assert rules(summary, alert_restatement_points=0.5) == (["restatement"] if fires else [])
    assert rules(summary, alert_restatement_points=None) == []


def test_fired_alerts_are_posted_once_each(tmp_path, slack, summary):
    low = dataclasses.replace(
        summary, restatements=[Restatement(date(2024, 5, 1), 12, "all", "all", "nrr", 0.95, 0.97)]
    )
    settings = bot_settings(
        tmp_path,
        slack,
        alert_nrr_below=2.0,
        alert_grr_below=None,
        alert_drop_points=None,
        alert_segment_concerning=False,
        alert_restatement_points=1.0,
    )

    first = notify_close(settings, low)
    again = notify_close(settings, low)

    alerts = [o.key for o in first.outcomes if o.kind == "alert"]
    assert alerts == ["2024-06/alert/v1/nrr_below", "2024-06/alert/v1/restatement"]
    assert all(o.status == "delivered" for o in first.outcomes)
    assert {o.status for o in again.outcomes} == {"already-delivered"}
    posted = [
        (p.metadata or {}).get("event_payload", {}).get("idempotency_key")
        for p in slack.messages("C0FINANCE1")
    ]
    assert posted.count("2024-06/alert/v1/nrr_below") == 1
    assert posted.count("2024-06/alert/v1/restatement") == 1


@pytest.mark.parametrize("value", ["off", "none", "", "NULL"])
def test_a_rule_is_switched_off_from_the_environment(monkeypatch, value):
    monkeypatch.setenv("NRR_ALERT_NRR_BELOW", value)
    monkeypatch.setenv("NRR_ALERT_DROP_POINTS", "4.5")
    settings = make_settings(Path("."))
    assert settings.alert_nrr_below is None
    assert settings.alert_drop_points == 4.5
    assert [a.rule for a in evaluate(settings, close(window(nrr=0.1, grr=0.9)))] == []

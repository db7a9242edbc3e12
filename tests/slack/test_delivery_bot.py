"""Bot-token delivery with the real slack_sdk against the local Slack server: exactly once."""

from __future__ import annotations

import threading

from nrr.reporting.charts import HEATMAP_SIZE, TREND_SIZE
from nrr.sandbox.slack_server import SlackServer
from nrr.slack.service import notify_close, retry_pending
from nrr.slack.state import STATE_FILE, DeliveryState
from tests.slack.helpers import bot_settings, png_size

SUMMARY_KEY = "2024-06/summary/v1"


def summaries(slack: SlackServer) -> list:
    """Summary messages that landed in the channel (what people would see)."""
    return [
        p
        for p in slack.messages("C0FINANCE1")
        if (p.metadata or {}).get("event_payload", {}).get("idempotency_key") == SUMMARY_KEY
    ]


def chart_posts(slack: SlackServer) -> list:
    return [p for p in slack.messages("C0FINANCE1") if p.files]


def test_summary_charts_and_report_are_posted_once_and_a_rerun_posts_nothing(
    tmp_path, slack, summary
):
    settings = bot_settings(
        tmp_path,
        slack,
        alert_nrr_below=None,
        alert_grr_below=None,
        alert_drop_points=None,
        alert_segment_concerning=False,
        alert_restatement_points=None,
    )
    first = notify_close(settings, summary)
    assert [(o.kind, o.status) for o in first.outcomes] == [
        ("summary", "delivered"),
        ("charts", "delivered"),
    ]
    assert first.ok
    assert len(summaries(slack)) == 1
    [charts] = chart_posts(slack)
    names = [f["name"] for f in charts.files]
    assert names == [
        "nrr-2024-06-v1-trend.png",
        "nrr-2024-06-v1-cohorts.png",
        "nrr-2024-06-v1-report.html",
    ]
    uploads = {u["filename"]: u["data"] for u in slack.uploads.values()}
    assert png_size(uploads["nrr-2024-06-v1-trend.png"]) == TREND_SIZE
    assert png_size(uploads["nrr-2024-06-v1-cohorts.png"]) == HEATMAP_SIZE
    assert uploads["nrr-2024-06-v1-report.html"].startswith(b"<!doctype html>")
    posts_before = len(slack.posted)
    calls_before = len(slack.calls("chat.postMessage"))

    second = notify_close(settings, summary)

    assert [o.status for o in second.outcomes] == ["already-delivered", "already-delivered"]
    assert len(slack.posted) == posts_before
    assert len(slack.calls("chat.postMessage")) == calls_before
    assert len(slack.calls("files.completeUploadExternal")) == 1


def test_server_error_keeps_the_message_pending_and_the_retry_delivers_it_once(
    tmp_path, slack, summary
):
    settings = bot_settings(tmp_path, slack)
    slack.fail("chat.postMessage", status=500, times=10)  # Slack is down for this run

    down = notify_close(settings, summary)

    statuses = {o.key: o.status for o in down.outcomes}
    assert statuses[SUMMARY_KEY] == "pending"
    assert statuses[SUMMARY_KEY + "/charts"] == "pending"  # waits for its summary
    assert not slack.posted
    assert "internal_error" in next(o.error for o in down.outcomes if o.key == SUMMARY_KEY)
    slack.reset()  # Slack recovers

    recovered = retry_pending(settings)

    assert {o.key: o.status for o in recovered.outcomes}[SUMMARY_KEY] == "delivered"
    assert recovered.ok
    assert len(summaries(slack)) == 1
    assert len(chart_posts(slack)) == 1
    # the 500 made the first attempt uncertain, so the channel was checked before re-posting
    assert slack.calls("conversations.history")
    assert retry_pending(settings).outcomes == []


def test_timeout_after_slack_accepted_is_found_in_history_not_posted_again(
    tmp_path, slack, summary
):
    settings = bot_settings(tmp_path, slack, slack_timeout_seconds=0.5)
    slack.fail("chat.postMessage", delay=1.5, accept=True)  # posted, answer comes too late

    first = notify_close(settings, summary)

    assert {o.key: o.status for o in first.outcomes}[SUMMARY_KEY] == "pending"
    assert len(summaries(slack)) == 1  # it did land

    second = notify_close(settings, summary)

    outcome = next(o for o in second.outcomes if o.key == SUMMARY_KEY)
    assert outcome.status == "delivered"
    assert "history" in outcome.detail
    assert len(summaries(slack)) == 1  # not posted twice
    assert len(chart_posts(slack)) == 1


def test_timeout_before_slack_accepted_is_posted_by_the_next_run_once(tmp_path, slack, summary):
    settings = bot_settings(tmp_path, slack, slack_timeout_seconds=0.5)
    slack.fail("chat.postMessage", delay=1.5)  # hangs, never posts

    first = notify_close(settings, summary)
    assert {o.key: o.status for o in first.outcomes}[SUMMARY_KEY] == "pending"
    assert not summaries(slack)

    second = notify_close(settings, summary)

    assert {o.key: o.status for o in second.outcomes}[SUMMARY_KEY] == "delivered"
    assert len(summaries(slack)) == 1


def test_unreachable_slack_is_pending_then_delivered(tmp_path, summary):
    with SlackServer() as slack:
        dead = slack.api_base
    settings = bot_settings(tmp_path, slack)
    down = notify_close(settings.model_copy(update={"slack_api_base": dead}), summary)
    outcome = next(o for o in down.outcomes if o.key == SUMMARY_KEY)
    assert outcome.status == "pending"
    assert "unreachable" in outcome.error

    with SlackServer() as slack:
        up = retry_pending(bot_settings(tmp_path, slack))
        assert up.ok
        assert len(summaries(slack)) == 1
        # connection refused: certainly not posted, so no history check was needed
        assert not slack.calls("conversations.history")


def test_rate_limit_is_retried_after_retry_after(tmp_path, slack, summary):
    settings = bot_settings(tmp_path, slack)
    slack.fail("chat.postMessage", status=429, retry_after=1)

    result = notify_close(settings, summary)

    assert result.ok
    posts = slack.calls("chat.postMessage")
    assert [p.answered for p in posts[:2]] == [429, 200]
    assert posts[1].at - posts[0].at >= 1.0
    assert len(summaries(slack)) == 1


def test_rate_limit_that_never_ends_leaves_the_message_pending(tmp_path, slack, summary):
    settings = bot_settings(tmp_path, slack)
    slack.fail("chat.postMessage", status=429, retry_after=0, times=4)

    result = notify_close(settings, summary)

    outcome = next(o for o in result.outcomes if o.key == SUMMARY_KEY)
    assert outcome.status == "pending"
    assert "rate-limiting" in outcome.error
    assert len(slack.calls("chat.postMessage")) >= 4
    assert not summaries(slack)


def test_invalid_token_is_one_clear_error_and_nothing_raises(tmp_path, slack, summary):
    settings = bot_settings(tmp_path, slack, slack_bot_token="xoxb-revoked")

    result = notify_close(settings, summary)

    assert not result.ok
    assert result.errors[0].startswith("Slack rejected the bot token (invalid_auth)")
    assert "SLACK_BOT_TOKEN" in result.errors[0]
    assert len(slack.calls("chat.postMessage")) == 1  # no hammering after a config error
    assert result.outcomes[0].status == "failed"
    # once the token is fixed, the same messages go out
    fixed = retry_pending(bot_settings(tmp_path, slack))
    assert fixed.ok
    assert len(summaries(slack)) == 1


def test_unknown_channel_is_one_clear_error(tmp_path, slack, summary):
    settings = bot_settings(tmp_path, slack, slack_channel="#no-such-channel")

    result = notify_close(settings, summary)

    assert result.outcomes[0].status == "failed"
    assert "'#no-such-channel' was not found" in result.outcomes[0].error
    assert not slack.posted


def test_channel_by_name_and_joining_a_public_channel(tmp_path, summary):
    with SlackServer(member_of=set()) as slack:
        result = notify_close(bot_settings(tmp_path, slack), summary)
        assert result.ok
        assert slack.calls("conversations.join")
        assert len(summaries(slack)) == 1
    with SlackServer() as slack:
        result = notify_close(
            bot_settings(tmp_path / "by-name", slack, slack_channel="#finance"), summary
        )
        assert result.ok
        assert len(chart_posts(slack)) == 1  # the files API got the channel ID


def test_two_runs_at_once_post_once(tmp_path, slack, summary):
    settings = bot_settings(tmp_path, slack)
    slack.fail("chat.postMessage", delay=0.3, accept=True, status=200)  # slow but fine
    results = []
    threads = [
        threading.Thread(target=lambda: results.append(notify_close(settings, summary)))
        for _ in range(2)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(summaries(slack)) == 1
    assert len(chart_posts(slack)) == 1


def test_a_crashed_run_is_checked_in_history_before_resending(tmp_path, slack, summary):
    settings = bot_settings(tmp_path, slack)
    assert notify_close(settings, summary).ok
    # simulate a run that claimed the summary and died without recording the outcome
    state = DeliveryState(tmp_path / STATE_FILE, lease_seconds=0)
    with state._transaction() as con:
        con.execute(
            "update deliveries set status = 'sending', last_attempt_at = 0 where key = ?",
            [SUMMARY_KEY],
        )

    result = retry_pending(settings)

    outcome = next(o for o in result.outcomes if o.key == SUMMARY_KEY)
    assert outcome.status == "delivered"
    assert "history" in outcome.detail
    assert len(summaries(slack)) == 1


def test_without_history_access_an_in_doubt_message_is_kept_not_reposted(tmp_path, slack, summary):
    settings = bot_settings(tmp_path, slack, slack_timeout_seconds=0.5)
    slack.fail("chat.postMessage", delay=1.5, accept=True)
    notify_close(settings, summary)
    slack.fail("conversations.history", error="missing_scope", times=2)

    blocked = retry_pending(settings)
    again = retry_pending(settings)

    for result in (blocked, again):
        outcome = next(o for o in result.outcomes if o.key == SUMMARY_KEY)
        assert outcome.status == "failed"
        assert outcome.error.startswith(f"cannot check whether {SUMMARY_KEY} was already posted")
        assert "--resend-in-doubt" in outcome.error
    assert len(summaries(slack)) == 1
    # the operator looked at the channel and decides to re-post anyway
    forced = retry_pending(settings, resend_in_doubt=True)
    assert next(o for o in forced.outcomes if o.key == SUMMARY_KEY).status == "delivered"
    assert len(summaries(slack)) == 2


def test_token_without_channel_is_a_clear_error_not_an_exception(tmp_path, slack, summary):
    settings = bot_settings(tmp_path, slack, slack_channel=None)

    for result in (notify_close(settings, summary), retry_pending(settings)):
        assert result.outcomes[0].status == "failed"
        assert "SLACK_CHANNEL is not" in result.outcomes[0].error
    assert not slack.requests

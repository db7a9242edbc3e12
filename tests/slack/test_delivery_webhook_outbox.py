"""Incoming-webhook and local-outbox delivery, blocked-close alerts, and the CLI."""

from __future__ import annotations

import json
import shutil
from datetime import date

import duckdb
from typer.testing import CliRunner

from nrr.reporting.charts import HEATMAP_SIZE, TREND_SIZE
from nrr.slack.service import notify_blocked, notify_close, render_to_outbox, retry_pending
from nrr.slack.summary import BlockedFailure
from tests.slack.helpers import PERIOD, bot_settings, make_settings, png_size

QUIET = {
    "alert_nrr_below": None,
    "alert_grr_below": None,
    "alert_drop_points": None,
    "alert_segment_concerning": False,
    "alert_restatement_points": None,
}


def test_webhook_posts_blocks_without_files_once(tmp_path, slack, summary):
    settings = make_settings(tmp_path, slack_webhook_url=slack.webhook_url, **QUIET)

    first = notify_close(settings, summary)

    assert [(o.kind, o.channel, o.status) for o in first.outcomes] == [
        ("summary", "webhook", "delivered")
    ]
    [posted] = slack.messages("webhook")
    assert posted.blocks[0]["type"] == "header"
    assert not slack.calls("files.getUploadURLExternal")
    assert "Full report:" in json.dumps(posted.blocks)  # no files: the report path instead
    assert notify_close(settings, summary).outcomes[0].status == "already-delivered"
    assert len(slack.calls("webhook")) == 1


def test_webhook_server_error_then_recovery_delivers_once(tmp_path, slack, summary):
    settings = make_settings(tmp_path, slack_webhook_url=slack.webhook_url, **QUIET)
    slack.fail("webhook", status=500)

    down = notify_close(settings, summary)
    assert down.outcomes[0].status == "pending"
    assert not slack.messages("webhook")

    assert retry_pending(settings).ok
    assert len(slack.messages("webhook")) == 1


def test_webhook_rate_limit_is_retried(tmp_path, slack, summary):
    settings = make_settings(tmp_path, slack_webhook_url=slack.webhook_url, **QUIET)
    slack.fail("webhook", status=429, retry_after=0)

    assert notify_close(settings, summary).ok
    assert [c.answered for c in slack.calls("webhook")] == [429, 200]


def test_wrong_webhook_url_is_one_clear_error(tmp_path, slack, summary):
    settings = make_settings(tmp_path, slack_webhook_url=slack.url + "services/T/B/wrong", **QUIET)

    result = notify_close(settings, summary)

    assert result.outcomes[0].status == "failed"
    assert "check SLACK_WEBHOOK_URL" in result.outcomes[0].error
    assert "404" in result.outcomes[0].error


def test_outbox_holds_exactly_what_would_be_posted(tmp_path, summary):
    settings = make_settings(tmp_path, **{**QUIET, "alert_nrr_below": 2.0})  # one alert

    result = notify_close(settings, summary)

    assert [(o.kind, o.channel, o.status) for o in result.outcomes] == [
        ("summary", "outbox", "delivered"),
        ("alert", "outbox", "delivered"),
    ]
    outbox = settings.outbox_dir
    payload = json.loads((outbox / "2024-06_summary_v1.json").read_text())
    assert payload["metadata"]["event_payload"]["idempotency_key"] == "2024-06/summary/v1"
    assert payload["blocks"][0]["text"]["text"] == "Revenue retention · June 2024 close"
    text = (outbox / "2024-06_summary_v1.txt").read_text()
    assert "June 2024 close" in text and "NRR" in text
    sizes = {
        f["path"]: png_size((outbox / f["path"]).read_bytes())
        for f in payload["files"]
        if f["path"].endswith(".png")
    }
    assert sorted(sizes.values()) == sorted([TREND_SIZE, HEATMAP_SIZE])
    assert (outbox / "2024-06_summary_v1-nrr-2024-06-v1-report.html").is_file()
    assert (outbox / "2024-06_alert_v1_nrr_below.txt").is_file()
    written = {p.name: p.stat().st_mtime_ns for p in outbox.iterdir()}

    again = notify_close(settings, summary)

    assert {o.status for o in again.outcomes} == {"already-delivered"}
    assert {p.name: p.stat().st_mtime_ns for p in outbox.iterdir()} == written


def test_dry_run_renders_afresh_and_records_nothing(tmp_path, slack, summary):
    settings = bot_settings(tmp_path, slack, **QUIET)

    result = render_to_outbox(settings, summary)

    assert result.ok and result.outcomes[0].channel == "outbox"
    assert (settings.outbox_dir / "2024-06_summary_v1.json").is_file()
    assert not slack.requests  # the configured Slack was not touched
    assert notify_close(settings, summary).ok  # and the real send is still due
    assert len(slack.calls("chat.postMessage")) == 1


def test_blocked_close_alert_is_posted_once_per_failure_set(tmp_path, slack):
    settings = bot_settings(tmp_path, slack)
    failures = [
        BlockedFailure(
            "expect_column_values_to_not_be_null",
            "ledger",
            "critical",
            12,
            ["cus_001 row 4", "cus_009 row 17"],
        )
    ]

    first = notify_blocked(settings, date(2024, 7, 15), failures)
    again = notify_blocked(settings, date(2024, 7, 1), failures)
    other = notify_blocked(
        settings, date(2024, 7, 1), [*failures, BlockedFailure("expect_mrr_positive", "ledger")]
    )

    assert first.outcomes[0].kind == "blocked" and first.ok
    assert again.outcomes[0].status == "already-delivered"
    assert other.outcomes[-1].status == "delivered"
    posted = slack.messages("C0FINANCE1")
    assert len(posted) == 2
    text = json.dumps(posted[0].blocks)
    assert "July 2024 close blocked by data quality" in text
    assert "12 unexpected rows" in text and "cus_001 row 4" in text
    assert "Nothing was published" in text


def test_cli_notify_month_and_retry(tmp_path, warehouse_dir, monkeypatch):
    from nrr.cli import app

    monkeypatch.setenv("NRR_DATA_DIR", str(tmp_path))
    (tmp_path / "warehouse.duckdb").symlink_to(warehouse_dir / "warehouse.duckdb")
    runner = CliRunner()

    sent = runner.invoke(app, ["notify", "--month", f"{PERIOD:%Y-%m}"])
    assert sent.exit_code == 0, sent.output
    assert "delivered" in sent.output and "2024-06/summary/v0" in sent.output
    assert (tmp_path / "outbox" / "2024-06_summary_v0.json").is_file()

    retried = runner.invoke(app, ["notify", "--retry"])
    assert retried.exit_code == 0
    assert "Nothing queued" in retried.output

    wrong = runner.invoke(app, ["notify"])
    assert wrong.exit_code == 1
    assert "give either --retry or --month" in str(wrong.exception)


def test_cli_notify_month_uses_the_latest_snapshot_and_its_restatements(
    tmp_path, warehouse_dir, monkeypatch
):
    from nrr.cli import app

    shutil.copy(warehouse_dir / "warehouse.duckdb", tmp_path / "warehouse.duckdb")
    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    con.execute("create table snapshots (snapshot_id varchar, period date, version integer)")
    con.execute("insert into snapshots values ('s1', '2024-06-01', 1), ('s3', '2024-06-01', 3)")
    con.execute("""create table snapshot_restatements (snapshot_id varchar, period date,
                   window_months integer, dimension varchar, segment varchar, metric varchar,
                   old_value double, new_value double)""")
    con.execute(
        "insert into snapshot_restatements values "
        "('s3', '2024-06-01', 12, 'all', 'all', 'nrr', 0.80, 0.79)"
    )
    con.close()
    monkeypatch.setenv("NRR_DATA_DIR", str(tmp_path))

    sent = CliRunner().invoke(app, ["notify", "--month", "2024-06", "--dry-run"])

    assert sent.exit_code == 0, sent.output
    assert "2024-06/summary/v3" in sent.output and "2024-06/alert/v3/restatement" in sent.output
    text = (tmp_path / "outbox" / "2024-06_summary_v3.txt").read_text()
    assert "80.0% → 79.0% (-1.0 pts)" in text
    assert not (tmp_path / "notifications.sqlite").exists()  # a dry run records nothing


def test_webhook_timeout_is_resent_at_least_once(tmp_path, slack, summary):
    """A webhook cannot read history: an in-doubt post is re-sent (documented trade-off)."""
    settings = make_settings(
        tmp_path, slack_webhook_url=slack.webhook_url, slack_timeout_seconds=0.5, **QUIET
    )
    slack.fail("webhook", delay=1.5, accept=True)

    first = notify_close(settings, summary)
    assert first.outcomes[0].status == "pending"
    assert "may have been posted" in first.outcomes[0].error

    assert retry_pending(settings).ok
    assert len(slack.messages("webhook")) == 2
    assert retry_pending(settings).outcomes == []

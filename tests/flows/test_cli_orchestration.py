"""`nrr backfill`, `nrr close` and `nrr snapshots` as a user runs them (real Prefect API)."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from nrr.cli import app

runner = CliRunner()


def test_backfill_close_and_snapshots_commands(tmp_path, ledger_file):
    data = str(tmp_path / "data")
    result = runner.invoke(app, ["backfill", "--from", "2024-09", "--to", "2024-10",
                                 "--ledger", str(ledger_file), "--data-dir", data])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "2 published, 0 restated, 0 unchanged, 0 skipped, 0 failed" in result.output

    changed = tmp_path / "late.csv"
    changed.write_text(ledger_file.read_text() + "cus_late,2024-09-01,,900,usd,,team,US,inbound\n")
    result = runner.invoke(app, ["close", "--month", "2024-10", "--ledger", str(changed),
                                 "--data-dir", data, "--format", "json"])  # fmt: skip
    assert result.exit_code == 0, result.output
    text = result.output[result.output.index('{\n  "period"') :]
    closed, _ = json.JSONDecoder().raw_decode(text)  # Prefect's log lines follow
    assert (closed["outcome"], closed["snapshot_id"]) == ("restated", "2024-10-v2")

    result = runner.invoke(app, ["snapshots", "--data-dir", data, "--format", "json"])
    assert result.exit_code == 0, result.output
    listed = json.loads(result.output)
    assert [s["snapshot_id"] for s in listed] == ["2024-10-v2", "2024-10-v1", "2024-09-v1"]
    assert listed[0]["previous_snapshot_id"] == "2024-10-v1"
    assert any(r["metric"] == "start_mrr" and r["delta"] == 900 for r in listed[0]["restatements"])

    table = runner.invoke(app, ["snapshots", "--month", "2024-10", "--data-dir", data],
                          env={"COLUMNS": "200"})  # fmt: skip
    assert table.exit_code == 0 and "2024-10-v2 restates 2024-10-v1" in table.output


def test_a_failed_close_is_one_sentence_and_exit_1(tmp_path, capsys, monkeypatch):
    from nrr.cli import main

    monkeypatch.setattr("sys.argv", ["nrr", "close", "--month", "2024-10", "--ledger",
                                     str(tmp_path / "nope.csv"), "--data-dir",
                                     str(tmp_path / "d"), "--no-notify"])  # fmt: skip
    try:
        main()
    except SystemExit as exit_:
        assert exit_.code == 1
    else:
        raise AssertionError("the close should have failed")
    err = capsys.readouterr().err
    assert "error: step 'validate-inputs' failed: " in err and "ledger file not found" in err


def test_readme_close_with_relative_paths_and_the_default_data_dir(tmp_path, ledger_file):
    """`nrr close --ledger ledger.csv --month 2025-06` as the README writes it: a relative
    ledger and the default `./data` (Great Expectations needs absolute paths)."""
    import shutil

    shutil.copy(ledger_file, tmp_path / "ledger.csv")  # the working directory (clean_env)
    result = runner.invoke(app, ["close", "--ledger", "ledger.csv", "--month", "2024-06",
                                 "--no-notify"])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "published 2024-06-v1" in result.output
    assert (tmp_path / "data" / "warehouse.duckdb").is_file()
    assert any((tmp_path / "data" / "validation").rglob("index.html"))


def test_close_exits_3_and_says_so_when_slack_messages_stay_pending(tmp_path, ledger_file,
                                                                     monkeypatch):  # fmt: skip
    from nrr.ephemeral import free_port

    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-test")
    monkeypatch.setenv("SLACK_CHANNEL", "C0FINANCE1")
    monkeypatch.setenv("SLACK_API_BASE", f"http://127.0.0.1:{free_port()}/api/")  # nobody there
    result = runner.invoke(app, ["close", "--month", "2024-08", "--ledger", str(ledger_file),
                                 "--data-dir", str(tmp_path / "data")],
                           env={"COLUMNS": "300"})  # fmt: skip
    assert result.exit_code == 3, result.output
    assert "2024-08: published 2024-08-v1" in result.output
    assert "Slack message(s) are not delivered" in result.output
    assert "nrr notify --retry" in result.output

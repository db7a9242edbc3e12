"""`nrr doctor`: one line per check, against the real local Stripe and Slack servers."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date

import pytest

from nrr.sandbox.slack_server import DEFAULT_TOKEN, SlackServer
from nrr.sandbox.stripe_generator import generate_account
from nrr.sandbox.stripe_server import serve


@pytest.fixture(scope="module")
def services():
    account = generate_account(20, 3, first_month=date(2025, 1, 1), seed=1)
    with serve(account, api_key="sk_test_doctor") as stripe, SlackServer() as slack:
        yield stripe, slack


def doctor(tmp_path, **env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items()
             if not k.startswith(("NRR_", "STRIPE_", "SLACK_", "PREFECT_API"))}  # fmt: skip
    return subprocess.run(
        [sys.executable, "-m", "nrr.cli", "doctor", "--data-dir", str(tmp_path / "data")],
        capture_output=True, text=True, timeout=120, cwd=tmp_path,
        env={**clean, "COLUMNS": "200", **env},
    )  # fmt: skip


def test_everything_configured_and_reachable(tmp_path, services):
    stripe, slack = services
    result = doctor(tmp_path, STRIPE_API_KEY="sk_test_doctor", STRIPE_API_BASE=stripe.url,
                    SLACK_BOT_TOKEN=DEFAULT_TOKEN, SLACK_CHANNEL="#leadership",
                    SLACK_API_BASE=slack.api_base)  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 6 and all(line.startswith("✓") for line in lines), lines
    assert "Stripe reachable" in result.stdout and "Slack bot" in result.stdout
    assert "ephemeral mode" in result.stdout


def test_each_problem_is_one_line_and_a_failing_exit(tmp_path, services):
    stripe, slack = services
    result = doctor(tmp_path, STRIPE_API_KEY="sk_test_wrong", STRIPE_API_BASE=stripe.url,
                    SLACK_BOT_TOKEN="xoxb-wrong", SLACK_CHANNEL="#leadership",
                    SLACK_API_BASE=slack.api_base)  # fmt: skip
    assert result.returncode == 1
    failed = [line for line in result.stdout.splitlines() if line.startswith("✗")]
    assert [line.split(":")[0] for line in failed] == ["✗ stripe", "✗ slack"]
    assert "Traceback" not in result.stdout + result.stderr


def test_production_without_slack_is_flagged(tmp_path, services):
    stripe, _ = services
    result = doctor(tmp_path, NRR_ENVIRONMENT="prod", STRIPE_API_KEY="sk_test_doctor",
                    STRIPE_API_BASE=stripe.url)  # fmt: skip
    assert result.returncode == 1
    assert "✗ slack: NRR_ENVIRONMENT=prod but neither SLACK_BOT_TOKEN" in result.stdout


def _lake_billing_in(tmp_path, *currencies: str) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    lake = tmp_path / "data" / "lake" / "stripe"
    lake.mkdir(parents=True)
    pq.write_table(pa.table({"id": [f"il_{c}" for c in currencies], "currency": list(currencies)}),
                   lake / "invoice_lines.parquet")  # fmt: skip


def test_a_lake_in_foreign_currencies_without_their_rates_is_not_fine(tmp_path):
    _lake_billing_in(tmp_path, "usd", "eur", "gbp", "cad")
    result = doctor(tmp_path)
    assert result.returncode == 1
    line = next(ln for ln in result.stdout.splitlines() if "exchange rates" in ln)
    assert line.startswith("✗") and "bills in CAD, EUR, GBP" in line, line
    assert "no FX rates file" in line

    (tmp_path / "fx.csv").write_text("currency,rate\neur,1.1\ngbp,1.3\ncad,0.7\n")
    result = doctor(tmp_path, NRR_FX_RATES=str(tmp_path / "fx.csv"))
    line = next(ln for ln in result.stdout.splitlines() if "exchange rates" in ln)
    assert line.startswith("✓"), line
    stripe = next(ln for ln in result.stdout.splitlines() if "stripe:" in ln)
    assert stripe.startswith("✓") and "extracted lake" in stripe, stripe

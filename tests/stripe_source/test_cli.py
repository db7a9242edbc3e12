"""`nrr extract` and `nrr compute` on the Stripe lake, as a user runs them (real processes)."""

from __future__ import annotations

import os
import re
import subprocess
import sys

from nrr.sandbox.stripe_server import serve
from tests.stripe_source.conftest import API_KEY

NRR = [sys.executable, "-m", "nrr.cli"]


def run(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*NRR, *args], capture_output=True, text=True, timeout=300,
        env={**os.environ, "COLUMNS": "200", **env},
    )  # fmt: skip


def test_extract_then_compute_from_the_lake(tmp_path, account):
    fx = account.write_fx_rates(tmp_path / "fx.csv")
    with serve(account) as server:
        env = {"STRIPE_API_KEY": API_KEY, "STRIPE_API_BASE": server.url, "NRR_FX_RATES": str(fx)}
        first = run("extract", "--data-dir", str(tmp_path / "data"), env=env)
        second = run("extract", "--data-dir", str(tmp_path / "data"), env=env)
    assert first.returncode == 0, first.stderr
    assert re.search(
        r"Full extraction \S+: [\d,]+ objects, [\d,]+ requests \([\d.,]+/s", first.stdout
    )
    assert re.search(r"invoice_lines\s+│\s+[\d,]+\s+│\s+[\d,]+", first.stdout)
    assert re.search(r"in \d+\.\ds -> ", first.stdout)
    assert "Incremental extraction" in second.stdout, second.stdout + second.stderr

    month = max(account.truth.column("month").to_pylist()).strftime("%Y-%m")
    computed = run("compute", "--as-of", month, "--data-dir", str(tmp_path / "data"), env=env)
    assert computed.returncode == 0, computed.stderr
    assert "from Stripe lake" in computed.stdout


def test_a_bad_key_is_one_line_and_exit_code_1(tmp_path, account):
    with serve(account) as server:
        env = {"STRIPE_API_KEY": "sk_test_nope", "STRIPE_API_BASE": server.url}
        result = run("extract", "--data-dir", str(tmp_path), env=env)
    assert result.returncode == 1
    assert result.stderr.strip().startswith("error: Stripe rejected the API key")
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr


def test_compute_without_an_extraction_says_what_to_do(tmp_path):
    result = run("compute", "--as-of", "2025-01", "--data-dir", str(tmp_path), env={})
    assert result.returncode == 1
    assert "no extracted Stripe data" in result.stderr and "nrr extract" in result.stderr

"""Shared fixtures: one small computed warehouse per session, a local Slack server per test."""

from __future__ import annotations

import dataclasses
from datetime import date
from pathlib import Path

import duckdb
import pytest

from nrr.compute import compute
from nrr.sandbox.ledger_generator import generate_ledger, write_ledger
from nrr.sandbox.slack_server import SlackServer
from nrr.settings import Settings
from nrr.slack.service import build_close_summary
from nrr.slack.summary import CloseSummary
from tests.slack.helpers import PERIOD, make_settings


@pytest.fixture(autouse=True)
def _isolated(clean_env):
    """Every test here runs without credentials from the shell (see tests/conftest.py)."""


@pytest.fixture(scope="session")
def warehouse_dir(tmp_path_factory) -> Path:
    """A warehouse computed by the real engine from a generated ledger (400 customers)."""
    data = tmp_path_factory.mktemp("slack-warehouse")
    generated = generate_ledger(400, 30, first_month=date(2022, 1, 1), seed=11)
    ledger = write_ledger(generated.ledger, data / "ledger.parquet")
    compute(Settings(_env_file=None, data_dir=data), PERIOD, ledger)
    return data


@pytest.fixture(scope="session")
def warehouse(warehouse_dir):
    con = duckdb.connect(str(warehouse_dir / "warehouse.duckdb"), read_only=True)
    yield con
    con.close()


@pytest.fixture(scope="session")
def base_summary(warehouse, warehouse_dir) -> CloseSummary:
    return build_close_summary(
        warehouse,
        make_settings(warehouse_dir),
        PERIOD,
        snapshot_id="snap-2024-06",
        snapshot_version=1,
    )


@pytest.fixture
def summary(base_summary) -> CloseSummary:
    """A fresh copy per test (notify_close records the report path on it)."""
    return dataclasses.replace(base_summary, restatements=[], data_quality_warnings=[])


@pytest.fixture
def slack():
    with SlackServer() as server:
        yield server

"""Flow tests run under a real Prefect API: a temporary local server for the session."""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

import pytest

from nrr.sandbox.ledger_generator import generate_ledger, write_ledger

FIRST_MONTH = date(2023, 1, 1)
MONTHS = 24  # 2023-01 .. 2024-12


def pytest_collection_modifyitems(items):
    """Every test of this package runs under the Prefect API below: marked `prefect`, so
    `-m "not prefect"` leaves them (and the server's start-up) out of a fast inner loop."""
    here = Path(__file__).parent
    for item in items:
        if here in item.path.parents:
            item.add_marker(pytest.mark.prefect)


@pytest.fixture(scope="package", autouse=True)
def prefect_api(tmp_path_factory):
    """One real Prefect API (SQLite-backed local server) for every flow test. Torn down
    when the flow tests end: its events websocket pings (calling the global `random`) from
    a background thread, which hypothesis reports when it lands inside a draw of a later
    property test."""
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    home = tmp_path_factory.mktemp("prefect-home")
    os.environ["PREFECT_HOME"] = str(home)
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.fixture(autouse=True)
def _isolated(clean_env):
    """Every test here runs without credentials from the shell (see tests/conftest.py)."""


@pytest.fixture(scope="session")
def ledger_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("ledger") / "ledger.csv"
    write_ledger(generate_ledger(300, MONTHS, first_month=FIRST_MONTH, seed=5).ledger, path)
    return path

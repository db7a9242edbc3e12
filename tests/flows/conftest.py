"""Flow tests run under a real Prefect API: a temporary local server for the session."""

from __future__ import annotations

import asyncio
import os
from datetime import date
from pathlib import Path
from unittest import mock

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
    import prefect.testing.utilities as harness
    from prefect.testing.utilities import prefect_test_harness

    with (
        mock.patch.object(harness, "run_coro_as_sync", _bounded(harness.run_coro_as_sync)),
        prefect_test_harness(server_startup_timeout=120),
    ):
        yield


DRAIN_SECONDS = 60


def _bounded(run_coro_as_sync):
    """The harness drains Prefect's log and event workers before it stops its server, and
    that drain waited forever once in a full run (a worker left over by the Dask backfill
    or the in-process demo never answered): the drain gets DRAIN_SECONDS, then the server
    stops anyway. Only the harness's own teardown goes through this."""

    def run(coro, *args, **kwargs):
        async def bounded():
            task = asyncio.ensure_future(coro)
            done, _ = await asyncio.wait({task}, timeout=DRAIN_SECONDS)
            if not done:
                task.cancel()  # not awaited: a task that ignores cancellation must not block

        return run_coro_as_sync(bounded(), *args, **kwargs)

    return run


@pytest.fixture(autouse=True)
def _isolated(clean_env):
    """Every test here runs without credentials from the shell (see tests/conftest.py)."""


@pytest.fixture(scope="session")
def ledger_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("ledger") / "ledger.csv"
    write_ledger(generate_ledger(300, MONTHS, first_month=FIRST_MONTH, seed=5).ledger, path)
    return path

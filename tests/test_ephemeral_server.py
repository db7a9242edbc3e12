"""`kill -9` of `nrr close` leaves no temporary Prefect server behind."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import psutil
import pytest

from nrr.sandbox.ledger_generator import generate_ledger, write_ledger

pytestmark = [pytest.mark.slow, pytest.mark.prefect]


SERVER_MARKS = ("nrr.ephemeral", "prefect.server.api.server:create_app")  # ours, Prefect's


def _servers_of(parent: int) -> list[psutil.Process]:
    """Prefect API servers started by `parent` (its own ephemeral one or nrr's)."""
    found = []
    for child in psutil.Process(parent).children(recursive=True):
        with contextlib.suppress(psutil.Error):
            if any(mark in " ".join(child.cmdline()) for mark in SERVER_MARKS):
                found.append(child)
    return found


def test_the_temporary_server_dies_with_nrr(tmp_path):
    write_ledger(generate_ledger(50, 12, first_month=date(2024, 1, 1), seed=2).ledger,
                 tmp_path / "ledger.csv")  # fmt: skip
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NRR_", "PREFECT_API"))}
    env.update(PREFECT_HOME=str(tmp_path / "prefect-home"), PREFECT_SERVER_ANALYTICS_ENABLED="0")
    nrr = subprocess.Popen(
        [str(Path(sys.executable).parent / "nrr"), "close", "--ledger", "ledger.csv",
         "--month", "2024-12", "--no-notify"],
        cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while not (servers := _servers_of(nrr.pid)):
            assert nrr.poll() is None, "nrr ended before its temporary server started"
            assert time.monotonic() < deadline, "no temporary server started"
            time.sleep(0.2)
        server = servers[0]
        os.kill(nrr.pid, signal.SIGKILL)
        nrr.wait()
        _gone, alive = psutil.wait_procs([server], timeout=15)
        assert not alive, f"temporary server {server.pid} outlived nrr"
    finally:
        if nrr.poll() is None:
            nrr.kill()
            nrr.wait()

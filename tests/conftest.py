"""Fixtures shared by every test package."""

from __future__ import annotations

import os
import sys
import threading

import pytest

SERVICE_PREFIXES = ("NRR_", "STRIPE_", "SLACK_")


@pytest.fixture
def clean_env(monkeypatch, tmp_path):
    """No NRR_/STRIPE_/SLACK_ variables or config files from the developer's shell: tests
    never reach a real Stripe or Slack, and the Slack outbox takes messages."""
    for key in list(os.environ):
        if key.startswith(SERVICE_PREFIXES):
            monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)


EXIT_GRACE_SECONDS = 120
_exit_status = 0


def pytest_sessionfinish(session, exitstatus):
    global _exit_status
    _exit_status = int(exitstatus)


def pytest_unconfigure(config):
    """A watchdog on the interpreter's exit, after the results are printed: Prefect drains
    its log and event workers at exit with no time limit, and a worker that never answers
    (seen once in a full run) would keep the run hanging until CI's limit. After
    EXIT_GRACE_SECONDS the process ends with pytest's own exit status."""

    def force_exit() -> None:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(_exit_status)

    watchdog = threading.Timer(EXIT_GRACE_SECONDS, force_exit)
    watchdog.daemon = True
    watchdog.start()

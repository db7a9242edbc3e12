"""Fixtures shared by every test package."""

from __future__ import annotations

import os

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

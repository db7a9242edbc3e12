"""Shared task plumbing: loggers, and settings rebuilt from plain parameters."""

from __future__ import annotations

import logging

from prefect import get_run_logger
from prefect.exceptions import MissingContextError


def logger() -> logging.Logger | logging.LoggerAdapter:
    """Prefect's run logger inside a run; the module logger when called as a plain function."""
    try:
        return get_run_logger()
    except MissingContextError:
        return logging.getLogger("nrr.tasks")


class StepFailed(RuntimeError):
    """A close or backfill step failed; the message names the step and the reason."""

    def __init__(self, step: str, reason: str):
        self.step = step
        super().__init__(f"step '{step}' failed: {reason}")

"""Data-quality gates of a close, with Great Expectations 1.x (see docs/validation.md).

Importing this package is cheap: Great Expectations itself is imported only when a gate
runs, so `nrr compute` never pays for it.
"""

from nrr.expectations.gates import validate_inputs, validate_outputs
from nrr.expectations.history import latest_close_stats
from nrr.expectations.report import CloseStats, ExpectationOutcome, Severity, ValidationReport

__all__ = [
    "CloseStats",
    "ExpectationOutcome",
    "Severity",
    "ValidationReport",
    "latest_close_stats",
    "validate_inputs",
    "validate_outputs",
]

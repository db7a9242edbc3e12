"""The failure alert's text: the step and a one-line reason from the run's state message,
within Block Kit's limits."""

from __future__ import annotations

from datetime import date

from nrr.flows.failure_alert import describe
from nrr.slack.blocks import limit_problems, render_failed


def test_step_and_first_line_of_the_reason():
    message = (
        "Flow run encountered an exception. StepFailed: step 'extract' failed: "
        "APIConnectionError: cannot reach Stripe\nTraceback (most recent call last): ..."
    )
    assert describe(message) == ("extract", "APIConnectionError: cannot reach Stripe")


def test_a_crash_without_a_step_is_reported_as_the_run():
    assert describe("Flow run infrastructure exited with non-zero status code -9.") == (
        "run",
        "Flow run infrastructure exited with non-zero status code -9.",
    )
    assert describe(None) == ("run", "no reason recorded")


def test_the_message_names_month_step_reason_and_link_within_limits():
    url = "http://prefect:4200/runs/flow-run/0f1e"
    text, blocks = render_failed(date(2025, 6, 1), "extract", "x" * 5000, url)
    assert "June 2025" in text and "extract" in text
    rendered = str(blocks)
    assert url in rendered and "*Step:*" in rendered
    assert limit_problems(blocks) == []

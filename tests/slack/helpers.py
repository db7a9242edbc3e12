"""Helpers shared by the Slack tests (settings without the developer's environment, PNG size)."""

from __future__ import annotations

import struct
from datetime import date
from pathlib import Path

from nrr.reporting.figures import Figures, WindowFigure
from nrr.sandbox.slack_server import DEFAULT_TOKEN, SlackServer
from nrr.settings import Settings
from nrr.slack.summary import CloseSummary, Restatement

PERIOD = date(2024, 6, 1)
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def make_settings(data_dir: Path, **overrides: object) -> Settings:
    """Settings from explicit values only: no .env, no developer environment."""
    return Settings(_env_file=None, data_dir=data_dir, **overrides)


def bot_settings(data_dir: Path, slack: SlackServer, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "slack_bot_token": DEFAULT_TOKEN,
        "slack_channel": "C0FINANCE1",
        "slack_api_base": slack.api_base,
        "slack_timeout_seconds": 1.0,
    }
    values.update(overrides)
    return make_settings(data_dir, **values)


def png_size(data: bytes) -> tuple[int, int]:
    """(width, height) from a PNG's IHDR chunk; fails on anything that is not a PNG."""
    assert data[:8] == PNG_SIGNATURE, "not a PNG file"
    assert data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


# --- hand-made figures for rule tests ----------------------------------------------------
def window(
    nrr: float | None = 1.05,
    grr: float | None = 0.92,
    *,
    dimension: str = "all",
    segment: str = "all",
    band: str | None = "healthy",
    grr_band: str | None = "excellent",
    churn_rate: float = 0.05,
) -> WindowFigure:
    return WindowFigure(
        12,
        dimension,
        segment,
        100,
        90,
        100_000.0,
        15_000.0,
        2_000.0,
        8_000.0,
        0.0,
        105_000.0,
        nrr,
        grr,
        band,
        grr_band,
        nrr,
        0.15,
        0.02,
        churn_rate,
        0.9,
    )


def close(
    headline: WindowFigure,
    previous: WindowFigure | None = None,
    segments: list[WindowFigure] | None = None,
    previous_segments: list[WindowFigure] | None = None,
    restatements: list[Restatement] | None = None,
) -> CloseSummary:
    def figures(as_of, head, prev, segs):
        return Figures(
            as_of,
            "usd",
            "exclude",
            head,
            prev,
            head,
            head,
            segs or [],
            [],
            {},
            {"voluntary": 0.0, "involuntary": 0.0, "unknown": 0.0},
            [],
        )

    before = figures(date(2025, 2, 1), previous, None, previous_segments) if previous else None
    return CloseSummary(
        date(2025, 3, 1),
        "snap",
        2,
        figures(date(2025, 3, 1), headline, previous, segments),
        [],
        restatements or [],
        [],
        Path("2025-03-v2.html"),
        previous_period_figures=before if previous_segments is not None else None,
    )

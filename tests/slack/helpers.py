"""Helpers shared by the Slack tests (settings without the developer's environment, PNG size)."""

from __future__ import annotations

import struct
from datetime import date
from pathlib import Path

from nrr.settings import Settings
from sandbox.slack_server import DEFAULT_TOKEN, SlackServer

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

"""One Slack message as stored, re-sent and written to the outbox: text, blocks, files."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

EVENT_TYPE = "nrr_notification"


@dataclass
class Attachment:
    """A file posted with the bot token (charts, the HTML report)."""

    path: str
    filename: str  # carries the idempotency slug: how a re-run finds it in the channel
    title: str


@dataclass
class Message:
    """What one delivery posts. `key` is its idempotency key."""

    key: str
    kind: str  # summary / alert / blocked / charts
    period: str  # YYYY-MM
    text: str  # notification fallback (mrkdwn)
    blocks: list[dict[str, Any]] = field(default_factory=list)
    files: list[Attachment] = field(default_factory=list)
    rule: str | None = None

    @property
    def slug(self) -> str:
        """The key as a file name: 2025-03/alert/v2/nrr_below -> 2025-03_alert_v2_nrr_below."""
        return self.key.replace("/", "_").replace(":", "-")

    @property
    def metadata(self) -> dict[str, Any]:
        """Slack message metadata: lets a re-run find this message in the channel history."""
        return {"event_type": EVENT_TYPE, "event_payload": {"idempotency_key": self.key}}

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Message:
        data = json.loads(text)
        data["files"] = [Attachment(**f) for f in data.get("files", [])]
        return cls(**data)

    def existing_files(self) -> list[Attachment]:
        return [f for f in self.files if Path(f.path).is_file()]

"""What the extractor remembers between runs, kept in `<lake>/stripe/_state.json`.

- `cursors`: per dataset, the newest `created` seen (Stripe's clock); the next incremental
  run lists objects created since then (minus a small overlap).
- `events_cursor` / `events_cursor_id`: the newest event read; the next run reads events
  from there, after checking that this event still exists (Stripe keeps events 30 days:
  if it is gone, the gap is not covered and the run falls back to a full re-sync).
- `pending`: the run in progress, with every list task and its pagination cursor, so that
  an interrupted run resumes where it stopped instead of starting over. It is cleared only
  after the run's data is committed to the lake.

The file is rewritten atomically after every flushed part, under a lock shared by threads.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, ValidationError

from nrr.errors import NrrError
from nrr.stripe_source.atomic import write_bytes

Mode = Literal["full", "incremental"]
STATE_VERSION = 1


class Task(BaseModel):
    """One list walk: a dataset, its filters, and how far it got."""

    dataset: str
    params: dict[str, Any] = Field(default_factory=dict)
    starting_after: str | None = None
    parts: int = 0
    objects: int = 0
    max_created: int | None = None  # newest `created` listed: the dataset's next cursor
    done: bool = False


class PendingRun(BaseModel):
    run_id: str
    mode: Mode
    started_at: str
    events_cursor: int | None = None  # to record when this run commits
    events_cursor_id: str | None = None
    events_done: bool = False
    tasks: dict[str, Task] = Field(default_factory=dict)
    committing: bool = False


class LastRun(BaseModel):
    run_id: str
    mode: Mode
    finished_at: str  # ISO-8601, local clock
    requests: int = 0


class ExtractState(BaseModel):
    version: int = STATE_VERSION
    cursors: dict[str, int] = Field(default_factory=dict)
    events_cursor: int | None = None
    events_cursor_id: str | None = None
    last_run: LastRun | None = None
    pending: PendingRun | None = None


class StateStore:
    """Loads and atomically saves the state; `save()` is safe to call from any thread."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self.state = self._load()

    def _load(self) -> ExtractState:
        if not self.path.exists():
            return ExtractState()
        try:
            return ExtractState.model_validate(json.loads(self.path.read_text("utf-8")))
        except (ValueError, ValidationError) as exc:
            raise NrrError(
                f"the Stripe extraction state {self.path} is unreadable "
                f"({exc.__class__.__name__}); "
                "delete it and run `nrr extract --full`"
            ) from exc

    def save(self) -> None:
        with self._lock:
            data = self.state.model_dump_json(indent=2).encode("utf-8")
            write_bytes(self.path, data)

    def update_task(self, key: str, **changes: Any) -> None:
        """Record a task's progress and save, as one step under the lock."""
        pending = self.state.pending
        assert pending is not None, "no run in progress"
        with self._lock:
            task = pending.tasks[key]
            for name, value in changes.items():
                setattr(task, name, value)
            data = self.state.model_dump_json(indent=2).encode("utf-8")
            write_bytes(self.path, data)

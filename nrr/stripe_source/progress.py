"""Progress of an extraction: objects fetched per dataset, requests and rates.

Shown as a rich progress line on the command line and logged through the `nrr.stripe`
logger every few seconds, so Prefect (which can attach its handler to that logger) shows it
in the flow run's logs too.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable

log = logging.getLogger("nrr.stripe")


class ExtractProgress:
    """Thread-safe counters plus an optional live display; call `close()` when done."""

    def __init__(
        self,
        requests: Callable[[], int],
        *,
        show: bool = False,
        log_every: float = 5.0,
    ) -> None:
        self._requests = requests
        self._lock = threading.Lock()
        self.counts: Counter[str] = Counter()
        self.started = time.perf_counter()
        self._log_every = log_every
        self._last_log = self.started
        self._progress = None
        self._task = None
        if show:
            from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

            self._progress = Progress(
                SpinnerColumn(),
                TextColumn("[bold]Stripe[/bold] {task.description}"),
                TimeElapsedColumn(),
                transient=True,
            )
            self._progress.start()
            self._task = self._progress.add_task("starting", total=None)

    @property
    def elapsed(self) -> float:
        return time.perf_counter() - self.started

    def status(self, message: str) -> None:
        log.info("%s", message)
        if self._progress is not None:
            self._progress.update(self._task, description=message)

    def add(self, dataset: str, objects: int) -> None:
        with self._lock:
            self.counts[dataset] += objects
            now = time.perf_counter()
            due = now - self._last_log >= self._log_every
            if due:
                self._last_log = now
        line = self.summary()
        if self._progress is not None:
            self._progress.update(self._task, description=line)
        if due:
            log.info("%s", line)

    def summary(self) -> str:
        elapsed = max(self.elapsed, 1e-9)
        with self._lock:
            objects = sum(self.counts.values())
        requests = self._requests()
        return (
            f"{objects:,} objects ({objects / elapsed:,.0f}/s), "
            f"{requests:,} requests ({requests / elapsed:,.1f}/s)"
        )

    def close(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None

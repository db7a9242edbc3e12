"""List tasks in worker processes, so that the work on each page uses every core.

A page of 100 invoices costs about 10 ms of Python (JSON decoding inside the `stripe`
package, shaping, Parquet); threads share one interpreter lock, so one process tops out
near 75 requests per second, under Stripe's live-mode 100. On Linux the list tasks
therefore run in forked worker processes, each with its own Stripe client. They share the
rate limiter (a token bucket in shared memory), write their parts themselves, and send the
parent every saved cursor, their progress and their log records through a queue: the
parent alone writes the state file, after the part a cursor points past is on disk.
Elsewhere (no safe fork) the same tasks run in threads.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import FIRST_EXCEPTION, Executor, ProcessPoolExecutor, wait
from datetime import UTC, datetime
from logging.handlers import QueueHandler
from pathlib import Path
from typing import Any

from nrr.settings import Settings
from nrr.stripe_source.client import StripeApi
from nrr.stripe_source.fetch import Cancelled, Observer, run_task
from nrr.stripe_source.lake import Staging
from nrr.stripe_source.ratelimit import RateLimiter
from nrr.stripe_source.state import Task

log = logging.getLogger("nrr.stripe")
_WORKER: dict[str, Any] = {}  # the forked worker's client, observer and queue


def processes_available() -> bool:
    return sys.platform.startswith("linux") and "fork" in multiprocessing.get_all_start_methods()


class _Stop:
    """Stop at the next page when the run failed elsewhere or the parent process died."""

    def __init__(self, event: Any, parent: int) -> None:
        self.event = event
        self.parent = parent

    def is_set(self) -> bool:
        return self.event.is_set() or os.getppid() != self.parent


class _QueueProgress:
    def __init__(self, queue: Any) -> None:
        self.queue = queue

    def add(self, dataset: str, objects: int) -> None:
        self.queue.put(("objects", dataset, objects))


def _exit_with_parent(parent: int) -> None:
    """An idle worker waits on a pipe it also holds open: it must notice a killed parent."""
    while os.getppid() == parent:
        time.sleep(0.5)
    os._exit(1)


def _init_worker(
    settings: Settings,
    root: Path,
    run_id: str,
    limiter: RateLimiter,
    queue: Any,
    stop: Any,
    parent: int,
) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C: the parent stops the run
    threading.Thread(target=_exit_with_parent, args=(parent,), daemon=True).start()
    logger = logging.getLogger("nrr.stripe")
    logger.handlers = [QueueHandler(queue)]  # the parent logs them, with its own handlers
    logger.propagate = False
    logger.setLevel(logging.INFO)
    api = StripeApi(settings, limiter=limiter)
    observer = Observer(
        api,
        Staging(root, run_id),
        run_id=run_id,
        extracted_at=datetime.now(UTC),
        progress=_QueueProgress(queue),
    )
    _WORKER.update(api=api, observer=observer, queue=queue, stop=_Stop(stop, parent))


def _run_in_worker(key: str, task: dict[str, Any]) -> None:
    api, queue = _WORKER["api"], _WORKER["queue"]
    before = (api.requests, api.retries)
    try:
        run_task(
            _WORKER["observer"],
            key,
            Task.model_validate(task),
            lambda changes: queue.put(("task", key, changes)),
            _WORKER["stop"],
        )
    finally:
        queue.put(
            (
                "requests",
                api.requests - before[0],
                api.retries - before[1],
                api.first_request_at,
                api.last_response_at,
            )
        )


def run_in_processes(
    settings: Settings,
    root: Path,
    run_id: str,
    api: StripeApi,
    tasks: dict[str, Task],
    on_task: Callable[[str, dict[str, Any]], None],
    on_objects: Callable[[str, int], None],
) -> None:
    """Run `tasks` in `stripe_concurrency` forked processes; the first error stops all."""
    context = multiprocessing.get_context("fork")
    queue, stop = context.Queue(), context.Event()

    def consume() -> None:
        while (message := queue.get()) is not None:
            if isinstance(message, logging.LogRecord):
                log.handle(message)
            elif message[0] == "task":
                on_task(message[1], message[2])
            elif message[0] == "objects":
                on_objects(message[1], message[2])
            else:
                api.absorb(*message[1:])

    consumer = threading.Thread(target=consume, name="stripe-worker-messages", daemon=True)
    consumer.start()
    pool = ProcessPoolExecutor(
        max_workers=settings.stripe_concurrency,
        mp_context=context,
        initializer=_init_worker,
        initargs=(settings, root, run_id, api.limiter, queue, stop, os.getpid()),
    )
    try:
        _wait_all(pool, [(key, task.model_dump()) for key, task in tasks.items()], stop)
    finally:
        stop.set()
        pool.shutdown(wait=True, cancel_futures=True)
        queue.put(None)  # after every worker's messages: they flushed them when exiting
        consumer.join()


def run_in_threads(
    observer: Observer,
    tasks: dict[str, Task],
    on_task: Callable[[str, dict[str, Any]], None],
    concurrency: int,
) -> None:
    """The same, in threads of this process (where forking is not safe)."""
    from concurrent.futures import ThreadPoolExecutor

    stop = threading.Event()
    pool = ThreadPoolExecutor(max_workers=concurrency)

    def one(key: str, task: dict[str, Any]) -> None:
        record = lambda changes: on_task(key, changes)  # noqa: E731
        run_task(observer, key, Task.model_validate(task), record, stop)

    try:
        _wait_all(pool, [(key, task.model_dump()) for key, task in tasks.items()], stop, one)
    finally:
        stop.set()
        pool.shutdown(wait=True, cancel_futures=True)


def _wait_all(
    pool: Executor,
    jobs: list[tuple[str, dict[str, Any]]],
    stop: Any,
    fn: Callable[[str, dict[str, Any]], None] = _run_in_worker,
) -> None:
    futures = [pool.submit(fn, key, task) for key, task in jobs]
    done, _ = wait(futures, return_when=FIRST_EXCEPTION)
    if any(future.exception() is not None for future in done):
        stop.set()
        wait(futures)
        errors = [f.exception() for f in futures if f.exception() is not None]
        raise next((e for e in errors if not isinstance(e, Cancelled)), errors[0])

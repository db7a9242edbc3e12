"""`extract(settings)`: Stripe -> raw Parquet lake, full or incremental, resumable.

A run goes: decide the mode -> plan (requests only) -> record the run as pending ->
[incremental: apply the events since the last run] -> list tasks in parallel, each writing
parts and saving its cursor -> commit every dataset atomically -> record cursors, clear
the pending run. A run interrupted anywhere resumes at its next start: the pending run's
tasks continue from their saved cursors and the commit is repeated (it is idempotent).
"""

from __future__ import annotations

import logging
import secrets
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Literal

import duckdb

from nrr.errors import NrrError
from nrr.settings import Settings
from nrr.stripe_source import workers
from nrr.stripe_source.client import StripeApi
from nrr.stripe_source.datasets import ALL, BY_NAME
from nrr.stripe_source.events import apply_events, deleted_customers, newest_event, read_events
from nrr.stripe_source.fetch import Batch, Observer
from nrr.stripe_source.lake import (
    Staging,
    commit_dataset,
    dataset_path,
    remove_stale_runs,
    stripe_root,
)
from nrr.stripe_source.plan import Plan, plan_full, plan_incremental, preflight
from nrr.stripe_source.progress import ExtractProgress
from nrr.stripe_source.references import fetch_missing
from nrr.stripe_source.state import ExtractState, LastRun, PendingRun, StateStore

log = logging.getLogger("nrr.stripe")

Mode = Literal["full", "incremental"]
# Stripe keeps events 30 days; without an event to check against, trust a day less.
EVENTS_RETENTION = timedelta(days=29)


@dataclass
class ExtractResult:
    """What one run fetched and where the lake is."""

    run_id: str
    mode: Mode
    counts: dict[str, int]  # rows written by this run, per dataset
    rows: dict[str, int]  # rows in the lake after the run, per dataset
    requests: int
    retries: int
    seconds: float  # the whole run: planning, listing, commit
    request_seconds: float  # first request to last response
    lake_paths: dict[str, Path]
    resumed: bool = False
    reason: str = ""  # why this mode
    objects: int = field(init=False)

    def __post_init__(self) -> None:
        self.objects = sum(self.counts.values())

    @property
    def requests_per_second(self) -> float:
        """The request rate while talking to Stripe (what the rate ceiling bounds)."""
        return self.requests / self.request_seconds if self.request_seconds else 0.0

    @property
    def objects_per_second(self) -> float:
        return self.objects / self.seconds if self.seconds else 0.0


def check_access(settings: Settings) -> None:
    """One harmless request (list one customer); raises NrrError saying what is wrong."""
    StripeApi(settings).list_page("customers", {"limit": 1})


def new_run_id() -> str:
    """Sortable by time (later runs win ties in the lake), unique by a random suffix."""
    return f"{datetime.now(UTC):%Y%m%dT%H%M%S%fZ}-{secrets.token_hex(3)}"


def choose_mode(api: StripeApi, state: ExtractState, *, full: bool) -> tuple[Mode, str]:
    """Full when asked, on the first run, or when the events since the last run are gone."""
    if full:
        return "full", "full re-sync requested"
    if state.last_run is None:
        return "full", "first extraction"
    if state.events_cursor_id is not None:
        if not api.event_exists(state.events_cursor_id):
            return "full", (
                "Stripe no longer keeps the events since the last run (30-day retention): "
                "full re-sync"
            )
        return "incremental", "events since the last run are available"
    last = datetime.fromisoformat(state.last_run.finished_at)
    if datetime.now(UTC) - last > EVENTS_RETENTION:
        return "full", "last run is older than Stripe's 30-day event retention: full re-sync"
    return "incremental", "no events since the last run's start were missed"


class Run:
    """One extraction run: its API client, staging, state and progress."""

    def __init__(self, settings: Settings, store: StateStore, api: StripeApi, progress) -> None:
        self.settings = settings
        self.store = store
        self.api = api
        self.progress: ExtractProgress = progress
        self.root = stripe_root(settings.lake_dir)
        pending = store.state.pending
        assert pending is not None
        self.pending = pending
        self.staging = Staging(self.root, pending.run_id)
        self.observer = Observer(
            api,
            self.staging,
            run_id=pending.run_id,
            extracted_at=datetime.now(UTC),
            progress=progress,
        )

    def write_first_pages(self, plan: Plan) -> None:
        for key, objects in plan.first_pages.items():
            dataset = BY_NAME[self.pending.tasks[key].dataset]
            batch = Batch()
            for obj in objects:
                self.observer.observe(batch, dataset, obj, source="list")
            self.observer.write(batch, f"{key}-000000")

    def apply_events(self) -> None:
        """Record the newest state of objects changed since the cursor (incremental), or
        the last state of customers deleted within the events' 30 days (full: Stripe no
        longer lists them, but their history stays meaningful)."""
        if self.pending.events_done:
            return
        if self.pending.mode == "incremental":
            self.progress.status("reading events since the last run")
            read = read_events(self.api, self.store.state.events_cursor)
            batch = apply_events(self.observer, read)
            if read.newest_created is not None:
                self.pending.events_cursor = read.newest_created
                self.pending.events_cursor_id = read.newest_id
        else:
            batch = deleted_customers(self.observer)
        self.observer.write(batch, "events-000000")
        self.pending.events_done = True
        self.store.save()

    def run_tasks(self) -> None:
        """Every unfinished list task, `stripe_concurrency` at a time; the first error stops all."""
        tasks = {key: task for key, task in self.pending.tasks.items() if not task.done}
        if not tasks:
            return
        self.progress.status(f"listing {len(tasks)} task(s)")

        def on_task(key: str, changes: dict) -> None:
            self.store.update_task(key, **changes)

        settings = self.settings
        if (
            settings.stripe_worker_processes
            and settings.stripe_concurrency > 1
            and workers.processes_available()
        ):
            workers.run_in_processes(
                self.settings,
                self.root,
                self.pending.run_id,
                self.api,
                tasks,
                on_task,
                self.progress.add,
            )
        else:
            workers.run_in_threads(self.observer, tasks, on_task, self.settings.stripe_concurrency)

    def fetch_references(self) -> None:
        """Prices and products that lines, items and prices reference but no list returned
        (inline prices, archived ones a list missed): retrieved by id."""
        self.progress.status("fetching referenced prices and products no list returned")
        fetch_missing(self.observer, self.root)

    def commit(self) -> dict[str, int]:
        """Merge the staged parts into the lake, then record the cursors and clear the run."""
        self.progress.status("committing to the lake")
        self.pending.committing = True
        self.store.save()
        con = duckdb.connect()
        try:
            con.execute(f"set memory_limit = '{self.settings.duckdb_memory_limit}'")
            if self.settings.duckdb_threads:
                con.execute(f"set threads = {int(self.settings.duckdb_threads)}")
            complete = self.pending.run_id if self.pending.mode == "full" else None
            for dataset in ALL:
                parts = self.staging.parts(dataset.name)
                commit_dataset(con, self.root, dataset, parts, complete_run=complete)
        finally:
            con.close()
        state = self.store.state
        for task in self.pending.tasks.values():
            if task.max_created is not None:
                previous = state.cursors.get(task.dataset)
                state.cursors[task.dataset] = max(previous or 0, task.max_created)
        if self.pending.events_cursor is not None:
            state.events_cursor = self.pending.events_cursor
            state.events_cursor_id = self.pending.events_cursor_id
        state.last_run = LastRun(
            run_id=self.pending.run_id,
            mode=self.pending.mode,
            finished_at=datetime.now(UTC).isoformat(),
            requests=self.api.requests,
        )
        state.pending = None
        self.store.save()
        self.staging.remove()
        return lake_row_counts(self.root)


def lake_row_counts(root: Path) -> dict[str, int]:
    import pyarrow.parquet as pq

    counts = {}
    for dataset in ALL:
        path = dataset_path(root, dataset.name)
        counts[dataset.name] = pq.ParquetFile(path).metadata.num_rows if path.exists() else 0
    return counts


def _start(settings: Settings, store: StateStore, api: StripeApi, full: bool, progress):
    """Plan a new run (requests only), then record it as pending. Returns the plan and reason."""
    mode, reason = choose_mode(api, store.state, full=full)
    progress.status(f"{mode} extraction: {reason}")
    if mode == "full":
        events_cursor, events_id = newest_event(api)
        plan = plan_full(api, concurrency=settings.stripe_concurrency)
    else:
        preflight(api)
        events_cursor, events_id = None, None
        plan = plan_incremental(store.state)
    # nothing was written up to here: from now on the run is recorded and resumable
    root = stripe_root(settings.lake_dir)
    remove_stale_runs(root, keep=None)
    store.state.pending = PendingRun(
        run_id=new_run_id(),
        mode=mode,
        started_at=datetime.now(UTC).isoformat(),
        events_cursor=events_cursor,
        events_cursor_id=events_id,
        tasks=plan.tasks,
    )
    store.save()
    return plan, reason


def extract(settings: Settings, *, full: bool = False, progress: bool = False) -> ExtractResult:
    """Extract Stripe into `<data dir>/lake/stripe/`; resumes an interrupted run first.

    Any failure is one NrrError sentence; the committed lake is never left half-written.
    """
    store = StateStore(stripe_root(settings.lake_dir) / "_state.json")
    try:
        return _extract(settings, store, full=full, progress=progress)
    except NrrError as exc:
        if store.state.pending is not None:
            raise type(exc)(
                f"{exc}; the lake is unchanged and the next `nrr extract` resumes this run"
            ) from exc
        raise type(exc)(f"{exc}; the lake is unchanged") from exc


def _extract(settings: Settings, store: StateStore, *, full: bool, progress: bool) -> ExtractResult:
    started = time.perf_counter()
    root = stripe_root(settings.lake_dir)
    api = StripeApi(settings)
    reporter = ExtractProgress(lambda: api.requests, show=progress)
    try:
        pending = store.state.pending
        resumed = pending is not None and (pending.mode == "full" or not full)
        if resumed:
            assert pending is not None
            reason = f"resuming interrupted run {pending.run_id}"
            reporter.status(reason)
            api.list_page("customers", {"limit": 1})  # fail before touching anything
            remove_stale_runs(root, keep=pending.run_id)
            plan = None
        else:
            plan, reason = _start(settings, store, api, full, reporter)
        run = Run(settings, store, api, reporter)
        if plan is not None:
            run.write_first_pages(plan)
        run.apply_events()
        run.run_tasks()
        run.fetch_references()
        rows = run.commit()
    finally:
        reporter.close()
    result = ExtractResult(
        run_id=run.pending.run_id,
        mode=run.pending.mode,
        counts=dict(reporter.counts),
        rows=rows,
        requests=api.requests,
        retries=api.retries,
        seconds=time.perf_counter() - started,
        request_seconds=api.request_seconds,
        lake_paths={d.name: dataset_path(root, d.name) for d in ALL},
        resumed=resumed,
        reason=reason,
    )
    log.info(
        "Stripe %s extraction %s: %s objects, %s requests in %.1fs",
        result.mode,
        result.run_id,
        f"{result.objects:,}",
        f"{result.requests:,}",
        result.seconds,
    )
    return result

"""Turning observed Stripe objects into staged lake parts, and running list tasks.

An observation is one object as seen at one moment (a list page, a retrieve, an event).
`Observer.observe` completes what Stripe embeds only partly (an invoice's lines, a
subscription's items, a credit note's lines: their first page), collapses expanded
discounts, and files the rows under their datasets. `run_task` walks one list task page by
page, writing a part every few pages and recording the cursor after it, so an interrupted
run resumes from the last part written.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from nrr.stripe_source.client import StripeApi
from nrr.stripe_source.datasets import (
    BY_NAME,
    CREDIT_NOTES,
    DISCOUNTS,
    INVOICE_LINES,
    INVOICES,
    SUBSCRIPTIONS,
    Dataset,
)
from nrr.stripe_source.lake import FETCHED_VERSION, Staging, to_table
from nrr.stripe_source.objects import (
    collapse_discounts,
    embedded_list,
    split_invoice,
    with_complete_list,
)
from nrr.stripe_source.pagination import iter_pages
from nrr.stripe_source.state import Task

PAGES_PER_PART = 5


class ProgressSink(Protocol):
    def add(self, dataset: str, objects: int) -> None: ...


class Cancelled(Exception):
    """Another task failed; this one stops at the next page."""


@dataclass
class Batch:
    """Rows waiting to be written, grouped by dataset and by how they were observed."""

    rows: dict[tuple[str, str], list[dict[str, Any]]] = field(
        default_factory=lambda: defaultdict(list)
    )
    versions: dict[tuple[str, str], list[int]] = field(default_factory=lambda: defaultdict(list))
    notes: dict[tuple[str, str], list[Mapping[str, Any]]] = field(
        default_factory=lambda: defaultdict(list)
    )

    def add(
        self,
        dataset: str,
        source: str,
        obj: dict[str, Any],
        version: int,
        notes: Mapping[str, Any] | None = None,
    ) -> None:
        key = (dataset, source)
        self.rows[key].append(obj)
        self.versions[key].append(version)
        self.notes[key].append(notes or {})

    def count(self, dataset: str) -> int:
        return sum(len(rows) for (name, _), rows in self.rows.items() if name == dataset)


class Observer:
    """Completes and shapes observations and writes them as parts of the run's staging."""

    def __init__(
        self,
        api: StripeApi,
        staging: Staging,
        *,
        run_id: str,
        extracted_at: datetime,
        progress: ProgressSink,
    ) -> None:
        self.api = api
        self.staging = staging
        self.run_id = run_id
        self.extracted_at = extracted_at
        self.progress = progress

    def _rest(self, fetch: Callable[[dict[str, Any]], Mapping[str, Any]], after: str | None):
        objects: list[dict[str, Any]] = []
        for page in iter_pages(fetch, {}, starting_after=after):
            objects.extend(page.objects)
        return objects

    def _complete(self, envelope: Any, fetch) -> list[dict[str, Any]]:
        """Every object of an embedded list, following its own pagination when cut short.

        An embedded list that is missing altogether (some event payloads) is fetched whole.
        """
        if not isinstance(envelope, Mapping):
            return self._rest(fetch, None)
        items, more = embedded_list({"list": envelope}, "list")
        if more:
            items = items + self._rest(fetch, items[-1]["id"] if items else None)
        return items

    def observe(
        self,
        batch: Batch,
        dataset: Dataset,
        obj: dict[str, Any],
        *,
        source: str,
        version: int = FETCHED_VERSION,
    ) -> None:
        """Add `obj` (and the children it embeds) to `batch`."""
        if obj.get("deleted") and len(obj) <= 3:  # Stripe's stub of a deleted object
            batch.add(dataset.name, source, obj, version)
            return
        oid = obj["id"]
        if dataset is SUBSCRIPTIONS:
            items = self._complete(
                obj.get("items"), lambda p: self.api.list_subscription_items(oid, p)
            )
            obj = with_complete_list(obj, "items", items)
        if dataset in (SUBSCRIPTIONS, INVOICES):
            obj, discounts = collapse_discounts(obj)
            for discount in discounts:
                batch.add(DISCOUNTS.name, source, discount, version)
        notes = None
        if dataset is INVOICES:
            lines = self._complete(obj.get("lines"), lambda p: self.api.list_invoice_lines(oid, p))
            obj, lines, line_notes = split_invoice(obj, lines)
            for line in lines:
                batch.add(INVOICE_LINES.name, source, line, version, line_notes)
            notes = {"line_count": len(lines)}
        if dataset is CREDIT_NOTES:
            lines = self._complete(
                obj.get("lines"), lambda p: self.api.list_credit_note_lines(oid, p)
            )
            obj = with_complete_list(obj, "lines", lines)
            notes = {"line_count": len(lines)}
        batch.add(dataset.name, source, obj, version, notes)

    def write(self, batch: Batch, part: str) -> dict[str, int]:
        """Write every group of `batch` as a part named `part`; returns rows per dataset."""
        written: dict[str, int] = defaultdict(int)
        for (name, source), objects in sorted(batch.rows.items()):
            table = to_table(
                BY_NAME[name],
                objects,
                run_id=self.run_id,
                extracted_at=self.extracted_at,
                source=source,
                versions=batch.versions[(name, source)],
                notes=batch.notes[(name, source)],
            )
            self.staging.write(name, f"{part}-{source}", table)
            written[name] += len(objects)
        for name, rows in written.items():
            self.progress.add(name, rows)
        return dict(written)


class StopSignal(Protocol):
    def is_set(self) -> bool: ...


def run_task(
    observer: Observer,
    key: str,
    task: Task,
    record: Callable[[dict[str, Any]], None],
    stop: StopSignal,
) -> None:
    """Walk one list task to its end, writing a part every few pages.

    After each part is written, `record` persists the task's progress (its cursor), so a run
    stopped at any point resumes after the last part written; a part written again by the
    resumed run has the same name and replaces the old one.
    """
    if task.done:
        return
    dataset = BY_NAME[task.dataset]
    assert dataset.service is not None
    parts, objects = task.parts, task.objects

    def fetch(params: dict[str, Any]) -> Mapping[str, Any]:
        if stop.is_set():
            raise Cancelled()
        return observer.api.list_page(dataset.service, params)

    batch, pages, newest = Batch(), 0, task.max_created
    for page in iter_pages(fetch, task.params, starting_after=task.starting_after):
        for obj in page.objects:
            observer.observe(batch, dataset, obj, source="list")
            created = obj.get("created")
            if isinstance(created, int) and (newest is None or created > newest):
                newest = created
        pages += 1
        if pages >= PAGES_PER_PART or page.done:
            objects += batch.count(dataset.name)
            observer.write(batch, f"{key}-{parts:06d}")
            parts += 1
            record(
                {
                    "starting_after": page.next_cursor,
                    "parts": parts,
                    "objects": objects,
                    "max_created": newest,
                    "done": page.done,
                }
            )
            batch, pages = Batch(), 0

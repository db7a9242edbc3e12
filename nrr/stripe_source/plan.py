"""Deciding what a run fetches, using requests only: nothing is written while planning.

Planning exercises every endpoint the run needs, so a bad key, a missing permission or an
unreachable API stops the run before anything on disk is touched.

- full: each dataset's first page (limit=100) is fetched; a dataset that has more is
  listed in `created` slices (big datasets) or page by page from there (small ones). The
  slices are open at both ends, so an estimate of the oldest object that is off (deleted
  customers are not listed, for instance) can only unbalance the work, never lose objects.
- incremental: one `limit=1` call per endpoint, then one task per dataset listing the
  objects created since that dataset's cursor, less a small overlap.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from nrr.stripe_source.client import StripeApi
from nrr.stripe_source.datasets import LISTED, Dataset
from nrr.stripe_source.pagination import (
    PAGE_LIMIT,
    created_range,
    find_oldest_created,
    time_slices,
)
from nrr.stripe_source.state import ExtractState, Task

CURSOR_OVERLAP_SECONDS = 600  # re-list objects created in the 10 minutes before the cursor
WEEK = 7 * 86_400


@dataclass
class Plan:
    tasks: dict[str, Task]
    first_pages: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # by task key


def _filters_only(params: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in params.items() if key != "expand"}


def _plan_dataset(api: StripeApi, dataset: Dataset, slices: int) -> Plan:
    plan = Plan({})
    for suffix, params in dataset.walks():
        part = _plan_walk(api, dataset, suffix, params, slices)
        plan.tasks.update(part.tasks)
        plan.first_pages.update(part.first_pages)
    return plan


def _plan_walk(
    api: StripeApi, dataset: Dataset, suffix: str, params: dict[str, Any], slices: int
) -> Plan:
    assert dataset.service is not None
    page = api.list_page(dataset.service, {**params, "limit": PAGE_LIMIT})
    objects = list(page.get("data") or [])
    more = bool(page.get("has_more")) and bool(objects)
    newest = max((int(o["created"]) for o in objects if "created" in o), default=None)
    first = f"{dataset.name}{suffix}-first"
    if not more or not dataset.sliced:
        task = Task(
            dataset=dataset.name,
            params=params,
            starting_after=objects[-1]["id"] if more else None,
            parts=1,
            objects=len(objects),
            max_created=newest,
            done=not more,
        )
        return Plan({first: task}, {first: objects})
    # big dataset: listed again in slices (the first page only told how far it reaches)
    tasks: dict[str, Task] = {}

    def exists_before(instant: int) -> bool:
        query = {**_filters_only(params), "limit": 1, **created_range(lt=instant)}
        return bool(api.list_page(dataset.service, query).get("data"))

    oldest = find_oldest_created(exists_before, newest or 0, precision=WEEK)
    ranges = time_slices(oldest, newest or oldest, slices)
    for index, (low, high) in enumerate(ranges):
        open_low = index == len(ranges) - 1  # oldest slice: no lower bound
        open_high = index == 0  # newest slice: no upper bound
        bounds = created_range(gte=None if open_low else low, lt=None if open_high else high)
        key = f"{dataset.name}{suffix}-{index:03d}"
        tasks[key] = Task(dataset=dataset.name, params={**params, **bounds})
    return Plan(tasks)


def plan_full(api: StripeApi, *, concurrency: int) -> Plan:
    """Probe every dataset (in parallel) and split the big ones into `created` slices."""
    plan = Plan({})
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        for part in pool.map(lambda d: _plan_dataset(api, d, concurrency * 4), LISTED):
            plan.tasks.update(part.tasks)
            plan.first_pages.update(part.first_pages)
    return plan


def preflight(api: StripeApi) -> None:
    """One `limit=1` request per endpoint: fails fast on a missing permission."""
    for dataset in LISTED:
        assert dataset.service is not None
        api.list_page(dataset.service, {"limit": 1})
    api.list_events({"limit": 1})


def plan_incremental(state: ExtractState) -> Plan:
    """One task per dataset: objects created since its cursor (all of them without one)."""
    tasks = {}
    for dataset in LISTED:
        cursor = state.cursors.get(dataset.name)
        since = None if cursor is None else cursor - CURSOR_OVERLAP_SECONDS
        for suffix, params in dataset.walks():
            tasks[f"{dataset.name}{suffix}-new"] = Task(
                dataset=dataset.name,
                params={**params, **created_range(gte=since)},
                max_created=cursor,
            )
    return Plan(tasks)

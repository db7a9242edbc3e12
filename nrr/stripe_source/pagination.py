"""Walking Stripe list endpoints: cursor pagination and `created` range slices.

Pure helpers: they take a `fetch(params) -> page` function, so tests drive them with fake
pages and assert on the arguments sent, and the extractor gives them the real client.
Stripe lists are newest first; `starting_after` is the id of the last object of the
previous page; `has_more` says whether another page exists.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

PAGE_LIMIT = 100
# Stripe launched in 2011: nothing in any account was created before this instant.
EARLIEST_CREATED = 1_293_840_000  # 2011-01-01T00:00:00Z
DAY = 86_400

Page = Mapping[str, Any]
FetchPage = Callable[[dict[str, Any]], Page]


@dataclass(frozen=True)
class PageResult:
    """One page of objects and the cursor that continues after it."""

    objects: list[dict[str, Any]]
    next_cursor: str | None  # None: this was the last page

    @property
    def done(self) -> bool:
        return self.next_cursor is None


def iter_pages(
    fetch: FetchPage,
    params: Mapping[str, Any],
    *,
    starting_after: str | None = None,
    limit: int = PAGE_LIMIT,
) -> Iterator[PageResult]:
    """Yield every page of a list, resuming after `starting_after` when given."""
    cursor = starting_after
    while True:
        query = {**params, "limit": limit}
        if cursor is not None:
            query["starting_after"] = cursor
        page = fetch(query)
        objects = list(page.get("data") or [])
        more = bool(page.get("has_more")) and bool(objects)
        cursor = objects[-1]["id"] if more else None
        yield PageResult(objects, cursor)
        if cursor is None:
            return


def created_range(gte: int | None = None, lt: int | None = None) -> dict[str, Any]:
    """The `created` filter for objects created in [gte, lt)."""
    bounds: dict[str, int] = {}
    if gte is not None:
        bounds["gte"] = int(gte)
    if lt is not None:
        bounds["lt"] = int(lt)
    return {"created": bounds} if bounds else {}


def find_oldest_created(
    exists_before: Callable[[int], bool], newest: int, *, precision: int = DAY
) -> int:
    """A lower bound within `precision` seconds of the oldest object's `created`.

    `exists_before(t)` asks the API whether any object was created before `t` (one
    `limit=1` request). A binary search needs about 13 requests for 15 years at day
    precision, which is cheap next to listing a large account.
    """
    low, high = EARLIEST_CREATED, int(newest) + 1  # invariant: nothing before low, something < high
    if not exists_before(high):
        return high
    while high - low > precision:
        middle = (low + high) // 2
        if exists_before(middle):
            high = middle
        else:
            low = middle
    return low


def time_slices(oldest: int, newest: int, count: int) -> list[tuple[int, int]]:
    """Split [oldest, newest] into up to `count` half-open `created` ranges, newest first.

    Newest first because accounts grow: the recent slices are the big ones, and starting
    them first keeps every worker busy until the end.
    """
    start, stop = int(oldest), int(newest) + 1
    count = max(1, min(count, stop - start))
    edges = [start + (stop - start) * i // count for i in range(count + 1)]
    slices = [(edges[i], edges[i + 1]) for i in range(count) if edges[i] < edges[i + 1]]
    return list(reversed(slices))

"""Pagination and slicing helpers, driven by fake list pages (as dlt tests its Stripe source)."""

from __future__ import annotations

import itertools

from nrr.stripe_source.pagination import (
    EARLIEST_CREATED,
    created_range,
    find_oldest_created,
    iter_pages,
    time_slices,
)


class FakeList:
    """A Stripe list endpoint over `ids` (newest first) that records what it was sent."""

    def __init__(self, count: int) -> None:
        self.ids = [f"obj_{n:04d}" for n in range(count, 0, -1)]
        self.calls: list[dict] = []

    def __call__(self, params: dict) -> dict:
        self.calls.append(dict(params))
        start = self.ids.index(params["starting_after"]) + 1 if "starting_after" in params else 0
        chunk = self.ids[start : start + params["limit"]]
        return {"data": [{"id": i} for i in chunk], "has_more": start + len(chunk) < len(self.ids)}


def test_walks_every_object_once_with_limit_100_and_the_last_id_as_cursor():
    fake = FakeList(250)
    pages = list(iter_pages(fake, {"status": "all"}))
    seen = [obj["id"] for page in pages for obj in page.objects]
    assert seen == fake.ids
    assert [call.get("starting_after") for call in fake.calls] == [None, "obj_0151", "obj_0051"]
    assert all(call["limit"] == 100 and call["status"] == "all" for call in fake.calls)
    assert [page.next_cursor for page in pages] == ["obj_0151", "obj_0051", None]


def test_resumes_after_a_saved_cursor():
    fake = FakeList(250)
    pages = list(iter_pages(fake, {}, starting_after="obj_0151"))
    assert fake.calls[0]["starting_after"] == "obj_0151"
    assert sum(len(p.objects) for p in pages) == 150


def test_an_empty_list_is_one_request():
    fake = FakeList(0)
    assert [p.objects for p in iter_pages(fake, {})] == [[]]
    assert len(fake.calls) == 1


def test_has_more_with_an_empty_page_does_not_loop_forever():
    calls = []

    def liar(params):
        calls.append(params)
        return {"data": [], "has_more": True}

    assert len(list(iter_pages(liar, {}))) == 1 and len(calls) == 1


def test_created_range_is_half_open():
    assert created_range(10, 20) == {"created": {"gte": 10, "lt": 20}}
    assert created_range(lt=20) == {"created": {"lt": 20}}
    assert created_range() == {}


def test_time_slices_cover_the_range_without_gaps_newest_first():
    slices = time_slices(1_000, 2_000, 7)
    assert len(slices) == 7
    assert slices[0][1] == 2_001 and slices[-1][0] == 1_000
    ordered = list(reversed(slices))
    assert all(a[1] == b[0] for a, b in itertools.pairwise(ordered))
    assert time_slices(5, 5, 16) == [(5, 6)]  # never more slices than seconds


def test_find_oldest_created_brackets_the_oldest_object_within_the_precision():
    oldest, asked = 1_600_000_000, []

    def exists_before(instant):
        asked.append(instant)
        return instant > oldest

    found = find_oldest_created(exists_before, 1_700_000_000, precision=86_400)
    assert found <= oldest < found + 86_400
    assert len(asked) < 20
    assert find_oldest_created(lambda t: False, 1_700_000_000) == 1_700_000_001
    assert oldest > EARLIEST_CREATED

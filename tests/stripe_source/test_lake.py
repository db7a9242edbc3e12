"""The raw lake: atomic parts, and commits that keep each object's newest observation."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest

from nrr.stripe_source.atomic import write_with
from nrr.stripe_source.datasets import CUSTOMERS, INVOICE_LINES, INVOICES
from nrr.stripe_source.lake import (
    FETCHED_VERSION,
    Staging,
    commit_dataset,
    dataset_path,
    read_dataset,
    to_table,
    typed_table,
)

NOW = datetime(2025, 6, 1, tzinfo=UTC)


def cust(cid: str, name: str, **extra) -> dict:
    return {"id": cid, "object": "customer", "created": 1_700_000_000, "name": name, **extra}


def stage(root: Path, run: str, dataset, objects, *, source="list", versions=None, part="p0"):
    notes = None
    if dataset is INVOICE_LINES:  # what the extractor notes next to a line's JSON
        notes = [{"invoice_id": o["invoice"], "customer_id": "cus_1"} for o in objects]
    table = to_table(dataset, objects, run_id=run, extracted_at=NOW, source=source,
                     versions=versions, notes=notes)  # fmt: skip
    Staging(root, run).write(dataset.name, part, table)
    return Staging(root, run).parts(dataset.name)


def commit(root: Path, dataset, parts) -> list[dict]:
    con = duckdb.connect()
    commit_dataset(con, root, dataset, parts)
    return read_dataset(root, dataset.name).to_pylist()


def test_typed_columns_raw_json_and_bookkeeping_on_every_row(tmp_path):
    staged = to_table(
        CUSTOMERS,
        [cust("cus_1", "Ada", address={"country": "FR"}, metadata={"channel": "partner"})],
        run_id="r1",
        extracted_at=NOW,
        source="list",
    )
    assert staged.column_names[:2] == ["id", "raw"]  # parts hold the JSON, typed at commit
    (row,) = typed_table(CUSTOMERS, staged).to_pylist()
    assert row["id"] == "cus_1" and row["country"] == "FR"
    assert json.loads(row["metadata"]) == {"channel": "partner"}
    assert row["created"] == datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)
    assert row["deleted"] is False
    assert json.loads(row["raw"])["name"] == "Ada"
    assert (row["_run_id"], row["_source"], row["_version"]) == ("r1", "list", FETCHED_VERSION)
    assert row["_extracted_at"] == NOW


def test_a_later_run_wins_and_a_repeated_commit_changes_nothing(tmp_path):
    root = tmp_path / "stripe"
    commit(root, CUSTOMERS, stage(root, "20250101-a", CUSTOMERS, [cust("cus_1", "Old")]))
    parts = stage(root, "20250201-b", CUSTOMERS, [cust("cus_1", "New"), cust("cus_2", "Two")])
    rows = commit(root, CUSTOMERS, parts)
    assert sorted((r["id"], r["name"]) for r in rows) == [("cus_1", "New"), ("cus_2", "Two")]
    commit(root, CUSTOMERS, parts)  # a commit interrupted and run again
    assert read_dataset(root, "customers").to_pylist() == rows


def test_within_a_run_what_was_fetched_beats_events_and_a_later_event_beats_an_earlier(tmp_path):
    root = tmp_path / "stripe"
    run = "20250301-c"
    stage(
        root,
        run,
        CUSTOMERS,
        [cust("cus_1", "From an old event"), cust("cus_2", "Newer event")],
        source="event",
        versions=[1, 7],
        part="e1",
    )
    stage(
        root,
        run,
        CUSTOMERS,
        [cust("cus_2", "Older event")],
        source="event",
        versions=[3],
        part="e2",
    )
    parts = stage(root, run, CUSTOMERS, [cust("cus_1", "Fetched")], part="l1")
    rows = {r["id"]: r["name"] for r in commit(root, CUSTOMERS, parts)}
    assert rows == {"cus_1": "Fetched", "cus_2": "Newer event"}


def test_a_deleted_customer_keeps_its_last_content(tmp_path):
    root = tmp_path / "stripe"
    commit(
        root,
        CUSTOMERS,
        stage(root, "20250101-a", CUSTOMERS, [cust("cus_1", "Ada", address={"country": "FR"})]),
    )
    stub = {"id": "cus_1", "object": "customer", "deleted": True}
    (row,) = commit(
        root, CUSTOMERS, stage(root, "20250201-b", CUSTOMERS, [stub], source="retrieve")
    )
    assert row["deleted"] is True and row["name"] == "Ada" and row["country"] == "FR"
    assert row["_run_id"] == "20250201-b"


def test_invoice_lines_follow_their_invoices_newest_observation(tmp_path):
    root = tmp_path / "stripe"

    def lines(*ids):
        return [{"id": i, "object": "line_item", "invoice": "in_1", "amount": 1} for i in ids]

    commit(root, INVOICE_LINES, stage(root, "20250101-a", INVOICE_LINES, lines("il_1", "il_2")))
    # the draft was edited: il_2 removed, il_3 added
    rows = commit(
        root, INVOICE_LINES, stage(root, "20250201-b", INVOICE_LINES, lines("il_1", "il_3"))
    )
    assert sorted(r["id"] for r in rows) == ["il_1", "il_3"]


def test_a_failed_write_leaves_the_previous_file_untouched(tmp_path):
    root = tmp_path / "stripe"
    commit(
        root,
        INVOICES,
        stage(root, "r1", INVOICES, [{"id": "in_1", "object": "invoice", "created": 1}]),
    )
    target = dataset_path(root, "invoices")
    before = target.read_bytes()

    def crash(tmp: Path) -> None:
        tmp.write_bytes(b"PAR1 half a file")
        raise OSError("disk full")

    with pytest.raises(OSError):
        write_with(target, crash)
    assert target.read_bytes() == before
    assert [p.name for p in root.iterdir() if p.name.endswith(".tmp")] == []


def test_a_complete_listing_flags_what_stripe_no_longer_returns(tmp_path):
    root = tmp_path / "stripe"

    def inv(iid, status):
        return {"id": iid, "object": "invoice", "created": 1, "status": status}

    commit(root, CUSTOMERS, stage(root, "r1", CUSTOMERS, [cust("cus_1", "A"), cust("cus_2", "B")]))
    commit(
        root,
        INVOICES,
        stage(root, "r1", INVOICES, [inv("in_draft", "draft"), inv("in_paid", "paid")]),
    )
    # a full run lists cus_1 only, and no invoice but a new one
    con = duckdb.connect()
    commit_dataset(
        con, root, CUSTOMERS, stage(root, "r2", CUSTOMERS, [cust("cus_1", "A")]), complete_run="r2"
    )
    commit_dataset(
        con, root, INVOICES, stage(root, "r2", INVOICES, [inv("in_new", "open")]), complete_run="r2"
    )
    customers = {r["id"]: r["deleted"] for r in read_dataset(root, "customers").to_pylist()}
    invoices = {r["id"]: r["deleted"] for r in read_dataset(root, "invoices").to_pylist()}
    assert customers == {"cus_1": False, "cus_2": True}
    # only drafts can be deleted in Stripe: a paid invoice missing from a listing is kept
    assert invoices == {"in_draft": True, "in_paid": False, "in_new": False}


def test_invoice_line_columns_sum_discounts_and_split_taxes_by_behavior():
    line = {
        "id": "il_1", "object": "line_item", "amount": 12_000, "currency": "eur",
        "discount_amounts": [{"amount": 1_000, "discount": "di_1"}, {"amount": 500}],
        "taxes": [
            {"amount": 1_750, "tax_behavior": "inclusive"},
            {"amount": 300, "tax_behavior": "exclusive"},
        ],
        "parent": {
            "type": "invoice_item_details",
            "invoice_item_details": {"subscription": "sub_1", "proration": True},
        },
        "pricing": {"price_details": {"price": {"id": "price_1"}, "product": "prod_1"}},
        "period": {"start": 1_700_000_000, "end": 1_702_592_000},
    }  # fmt: skip
    notes = [{"invoice_id": "in_1", "customer_id": "cus_1", "invoice_created": 1_700_000_000}]
    staged = to_table(
        INVOICE_LINES, [line], run_id="r", extracted_at=NOW, source="list", notes=notes
    )
    (row,) = typed_table(INVOICE_LINES, staged).to_pylist()
    assert (row["invoice_id"], row["customer_id"]) == ("in_1", "cus_1")
    assert (row["discount_amount"], row["tax_inclusive"], row["tax_exclusive"]) == (
        1_500,
        1_750,
        300,
    )
    assert (row["subscription_id"], row["proration"], row["price_id"]) == ("sub_1", True, "price_1")
    assert row["period_end"] == datetime(2023, 12, 14, 22, 13, 20, tzinfo=UTC)

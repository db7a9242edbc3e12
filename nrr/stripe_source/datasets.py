"""The datasets of the raw lake: which endpoint feeds each one and which columns it has.

Every dataset keeps the whole Stripe object as canonical JSON (`raw`) next to a few typed
columns that checks and BI tools read directly. The typed columns are stable; Stripe adds
fields to its objects all the time and those only ever land in `raw`, so a new Stripe field
never changes a Parquet schema between runs.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from nrr.stripe_source.fields import dig, metadata_json, ref, to_json, total

Getter = Callable[[Mapping[str, Any]], Any]
TS = pa.timestamp("us", tz="UTC")

# Columns every dataset has: bookkeeping of the extraction, never Stripe data.
META_FIELDS = [
    pa.field("_run_id", pa.string()),
    pa.field("_extracted_at", pa.timestamp("us", tz="UTC")),
    pa.field("_source", pa.string()),  # list | retrieve | event
    pa.field("_version", pa.int64()),  # order of observations inside a run
]


@dataclass(frozen=True)
class Column:
    name: str
    type: pa.DataType
    get: Getter


def col(name: str, typ: pa.DataType, *path: str) -> Column:
    return Column(name, typ, lambda obj: dig(obj, *path))


def ref_col(name: str, *path: str) -> Column:
    return Column(name, pa.string(), lambda obj: ref(dig(obj, *path)))


ID = col("id", pa.string(), "id")
CREATED = col("created", TS, "created")
DELETED = Column("deleted", pa.bool_(), lambda obj: bool(obj.get("deleted")))
LIVEMODE = col("livemode", pa.bool_(), "livemode")


def _raw(obj: Mapping[str, Any]) -> str:
    """The object as Stripe sent it: keys starting with `_` are the extractor's own notes."""
    return to_json({key: value for key, value in obj.items() if not key.startswith("_")})


RAW = Column("raw", pa.string(), _raw)


@dataclass(frozen=True, eq=False)  # compared and hashed by identity: one object per dataset
class Dataset:
    """One object type: the list endpoint that feeds it and the columns written for it."""

    name: str
    object: str  # Stripe's `object` value
    service: str | None  # attribute of client.v1 whose `list` feeds it; None: derived
    columns: tuple[Column, ...]
    list_params: Mapping[str, Any] = field(default_factory=dict)
    sliced: bool = False  # big enough to list in concurrent `created` slices
    key: str = "id"
    # rows matching this SQL that a complete (full) listing no longer returns were deleted
    # in Stripe: deleted customers, products and coupons, deleted draft invoices
    gone_when_unlisted: str | None = None

    @property
    def schema(self) -> pa.Schema:
        return pa.schema([pa.field(c.name, c.type) for c in self.columns] + META_FIELDS)


def _country(obj: Mapping[str, Any]) -> Any:
    return dig(obj, "address", "country")


CUSTOMERS = Dataset(
    "customers",
    "customer",
    "customers",
    (
        ID,
        CREATED,
        DELETED,
        col("name", pa.string(), "name"),
        col("email", pa.string(), "email"),
        col("currency", pa.string(), "currency"),
        Column("country", pa.string(), _country),
        Column("metadata", pa.string(), metadata_json),
        col("delinquent", pa.bool_(), "delinquent"),
        LIVEMODE,
        RAW,
    ),
    sliced=True,
    gone_when_unlisted="true",
)

PRODUCTS = Dataset(
    "products",
    "product",
    "products",
    (
        ID,
        CREATED,
        DELETED,
        col("name", pa.string(), "name"),
        col("active", pa.bool_(), "active"),
        Column("metadata", pa.string(), metadata_json),
        LIVEMODE,
        RAW,
    ),
    gone_when_unlisted="true",
)

PRICES = Dataset(
    "prices",
    "price",
    "prices",
    (
        ID,
        CREATED,
        DELETED,
        ref_col("product_id", "product"),
        col("active", pa.bool_(), "active"),
        col("currency", pa.string(), "currency"),
        col("type", pa.string(), "type"),
        col("billing_scheme", pa.string(), "billing_scheme"),
        col("tiers_mode", pa.string(), "tiers_mode"),
        col("unit_amount", pa.int64(), "unit_amount"),
        col("unit_amount_decimal", pa.string(), "unit_amount_decimal"),
        col("recurring_interval", pa.string(), "recurring", "interval"),
        col("recurring_interval_count", pa.int64(), "recurring", "interval_count"),
        col("recurring_usage_type", pa.string(), "recurring", "usage_type"),
        col("tax_behavior", pa.string(), "tax_behavior"),
        col("nickname", pa.string(), "nickname"),
        LIVEMODE,
        RAW,
    ),
    list_params={"expand": ["data.tiers"]},
)

COUPONS = Dataset(
    "coupons",
    "coupon",
    "coupons",
    (
        ID,
        CREATED,
        DELETED,
        col("name", pa.string(), "name"),
        col("percent_off", pa.float64(), "percent_off"),
        col("amount_off", pa.int64(), "amount_off"),
        col("currency", pa.string(), "currency"),
        col("duration", pa.string(), "duration"),
        col("duration_in_months", pa.int64(), "duration_in_months"),
        col("valid", pa.bool_(), "valid"),
        LIVEMODE,
        RAW,
    ),
    gone_when_unlisted="true",
)

DISCOUNTS = Dataset(
    "discounts",
    "discount",
    None,  # no list endpoint: collected from expanded subscriptions/invoices and events
    (
        ID,
        col("created", TS, "start"),
        DELETED,
        ref_col("coupon_id", "source", "coupon"),
        ref_col("customer_id", "customer"),
        col("subscription_id", pa.string(), "subscription"),
        col("subscription_item_id", pa.string(), "subscription_item"),
        col("invoice_id", pa.string(), "invoice"),
        col("start", TS, "start"),
        col("end", TS, "end"),
        RAW,
    ),
)

SUBSCRIPTIONS = Dataset(
    "subscriptions",
    "subscription",
    "subscriptions",
    (
        ID,
        CREATED,
        ref_col("customer_id", "customer"),
        col("status", pa.string(), "status"),
        col("currency", pa.string(), "currency"),
        col("start_date", TS, "start_date"),
        col("ended_at", TS, "ended_at"),
        col("canceled_at", TS, "canceled_at"),
        col("cancel_at", TS, "cancel_at"),
        col("cancel_at_period_end", pa.bool_(), "cancel_at_period_end"),
        col("cancellation_reason", pa.string(), "cancellation_details", "reason"),
        col("cancellation_feedback", pa.string(), "cancellation_details", "feedback"),
        col("trial_start", TS, "trial_start"),
        col("trial_end", TS, "trial_end"),
        Column("item_count", pa.int64(), lambda o: len(dig(o, "items", "data") or [])),
        Column("metadata", pa.string(), metadata_json),
        LIVEMODE,
        RAW,
    ),
    list_params={"status": "all", "expand": ["data.discounts"]},
    sliced=True,
)

INVOICES = Dataset(
    "invoices",
    "invoice",
    "invoices",
    (
        ID,
        CREATED,
        DELETED,
        ref_col("customer_id", "customer"),
        ref_col("subscription_id", "parent", "subscription_details", "subscription"),
        col("status", pa.string(), "status"),
        col("currency", pa.string(), "currency"),
        col("billing_reason", pa.string(), "billing_reason"),
        col("period_start", TS, "period_start"),
        col("period_end", TS, "period_end"),
        col("subtotal", pa.int64(), "subtotal"),
        col("total", pa.int64(), "total"),
        Column("total_taxes", pa.int64(), lambda o: total(o.get("total_taxes"))),
        col("amount_due", pa.int64(), "amount_due"),
        col("amount_paid", pa.int64(), "amount_paid"),
        col("paid_at", TS, "status_transitions", "paid_at"),
        col("voided_at", TS, "status_transitions", "voided_at"),
        col("marked_uncollectible_at", TS, "status_transitions", "marked_uncollectible_at"),
        col("customer_country", pa.string(), "customer_address", "country"),
        col("line_count", pa.int64(), "_line_count"),
        LIVEMODE,
        RAW,
    ),
    sliced=True,
    gone_when_unlisted="status = 'draft'",
)


def _line_parent(obj: Mapping[str, Any]) -> Mapping[str, Any] | None:
    parent = obj.get("parent") or {}
    return parent.get("subscription_item_details") or parent.get("invoice_item_details")


INVOICE_LINES = Dataset(
    "invoice_lines",
    "line_item",
    None,  # children of invoices: embedded first page, then /v1/invoices/{id}/lines
    (
        ID,
        col("invoice_id", pa.string(), "invoice"),
        col("customer_id", pa.string(), "_customer"),
        col("created", TS, "_invoice_created"),
        col("currency", pa.string(), "currency"),
        col("amount", pa.int64(), "amount"),
        col("subtotal", pa.int64(), "subtotal"),
        Column("discount_amount", pa.int64(), lambda o: total(o.get("discount_amounts"))),
        Column(
            "tax_exclusive",
            pa.int64(),
            lambda o: total(o.get("taxes"), where={"tax_behavior": "exclusive"}),
        ),
        Column(
            "tax_inclusive",
            pa.int64(),
            lambda o: total(o.get("taxes"), where={"tax_behavior": "inclusive"}),
        ),
        col("quantity", pa.int64(), "quantity"),
        ref_col("price_id", "pricing", "price_details", "price"),
        col("product_id", pa.string(), "pricing", "price_details", "product"),
        col("parent_type", pa.string(), "parent", "type"),
        Column("subscription_id", pa.string(), lambda o: dig(_line_parent(o), "subscription")),
        col(
            "subscription_item_id",
            pa.string(),
            "parent",
            "subscription_item_details",
            "subscription_item",
        ),
        Column("invoice_item_id", pa.string(), lambda o: dig(_line_parent(o), "invoice_item")),
        Column("proration", pa.bool_(), lambda o: bool(dig(_line_parent(o), "proration"))),
        col("period_start", TS, "period", "start"),
        col("period_end", TS, "period", "end"),
        col("description", pa.string(), "description"),
        RAW,
    ),
    key="id",
)

CREDIT_NOTES = Dataset(
    "credit_notes",
    "credit_note",
    "credit_notes",
    (
        ID,
        CREATED,
        ref_col("customer_id", "customer"),
        ref_col("invoice_id", "invoice"),
        col("status", pa.string(), "status"),
        col("type", pa.string(), "type"),
        col("reason", pa.string(), "reason"),
        col("currency", pa.string(), "currency"),
        col("subtotal", pa.int64(), "subtotal"),
        col("total", pa.int64(), "total"),
        col("effective_at", TS, "effective_at"),
        col("voided_at", TS, "voided_at"),
        col("line_count", pa.int64(), "_line_count"),
        LIVEMODE,
        RAW,
    ),
    sliced=True,
)

EVENTS = Dataset(
    "events",
    "event",
    None,  # read by the incremental sync, kept for audit
    (
        ID,
        CREATED,
        col("type", pa.string(), "type"),
        col("object_type", pa.string(), "data", "object", "object"),
        col("object_id", pa.string(), "data", "object", "id"),
        col("api_version", pa.string(), "api_version"),
        RAW,
    ),
)

# Listed in this order; catalog objects first so a partial run still has them.
LISTED: tuple[Dataset, ...] = (
    PRODUCTS,
    PRICES,
    COUPONS,
    CUSTOMERS,
    SUBSCRIPTIONS,
    INVOICES,
    CREDIT_NOTES,
)
ALL: tuple[Dataset, ...] = (*LISTED, DISCOUNTS, INVOICE_LINES, EVENTS)
BY_NAME: dict[str, Dataset] = {d.name: d for d in ALL}
BY_OBJECT: dict[str, Dataset] = {d.object: d for d in ALL}

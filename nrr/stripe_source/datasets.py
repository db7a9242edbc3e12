"""The datasets of the raw lake: which endpoint feeds each one and which columns it has.

Every dataset keeps the whole Stripe object as JSON (`raw`) next to typed columns that the
ledger, the checks and BI tools read directly. While a run fetches, parts hold only `id`,
`raw` and a few notes the JSON cannot tell (an invoice line's customer, for instance); the
typed columns are computed from `raw` by DuckDB when the run commits, which keeps the
per-page work of the fetching threads small. The typed columns are stable; Stripe adds
fields to its objects all the time and those only ever land in `raw`, so a new Stripe field
never changes a Parquet schema between runs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

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
    """A typed column: its Arrow type and the DuckDB expression computing it from `raw`."""

    name: str
    type: pa.DataType
    sql: str


def _path(*keys: str) -> str:
    return "$." + ".".join(keys)


def text(name: str, *keys: str) -> Column:
    return Column(name, pa.string(), f"json_extract_string(raw, '{_path(*keys)}')")


def integer(name: str, *keys: str) -> Column:
    return Column(name, pa.int64(), f"try_cast(json_extract(raw, '{_path(*keys)}') as bigint)")


def number(name: str, *keys: str) -> Column:
    return Column(name, pa.float64(), f"try_cast(json_extract(raw, '{_path(*keys)}') as double)")


def flag(name: str, *keys: str) -> Column:
    return Column(name, pa.bool_(), f"try_cast(json_extract(raw, '{_path(*keys)}') as boolean)")


def instant(name: str, *keys: str) -> Column:
    """A Stripe Unix timestamp as a UTC timestamp."""
    seconds = f"try_cast(json_extract(raw, '{_path(*keys)}') as bigint)"
    return Column(name, TS, f"to_timestamp({seconds})")


def ref(name: str, *keys: str) -> Column:
    """An expandable field: its id whether Stripe sent the id or the whole object."""
    path = _path(*keys)
    sql = (
        f"case when json_type(raw, '{path}') = 'OBJECT' "
        f"then json_extract_string(raw, '{path}.id') else json_extract_string(raw, '{path}') end"
    )
    return Column(name, pa.string(), sql)


def amount_sum(name: str, list_key: str, behavior: str | None = None) -> Column:
    """Sum of `amount` over a list of amounts (optionally of one tax behavior), 0 if none."""
    items = (
        f"from_json(json_extract(raw, '$.{list_key}'), "
        """'[{"amount": "BIGINT", "tax_behavior": "VARCHAR"}]')"""
    )
    if behavior is not None:
        items = f"list_filter({items}, lambda x: x.tax_behavior = '{behavior}')"
    return Column(
        name, pa.int64(), f"coalesce(list_sum(list_transform({items}, lambda x: x.amount)), 0)"
    )


def note(name: str, typ: pa.DataType) -> Column:
    """A column staged next to `raw` (what the object's JSON does not tell)."""
    return Column(name, typ, name)


ID = Column("id", pa.string(), "id")
CREATED = instant("created", "created")
DELETED = Column(
    "deleted", pa.bool_(), "coalesce(try_cast(json_extract(raw, '$.deleted') as boolean), false)"
)
LIVEMODE = flag("livemode", "livemode")
METADATA = Column(
    "metadata",
    pa.string(),
    "case when json_type(raw, '$.metadata') = 'OBJECT' "
    "and json_extract(raw, '$.metadata')::varchar <> '{}' "
    "then json_extract(raw, '$.metadata')::varchar end",
)
RAW = Column("raw", pa.string(), "raw")


@dataclass(frozen=True, eq=False)  # compared and hashed by identity: one object per dataset
class Dataset:
    """One object type: the list endpoint that feeds it and the columns written for it."""

    name: str
    object: str  # Stripe's `object` value
    service: str | None  # URL segment of its list endpoint (/v1/<service>); None: derived
    columns: tuple[Column, ...]
    list_params: Mapping[str, Any] = field(default_factory=dict)
    # one list walk per variant, each adding its filters to `list_params`: Stripe's price
    # list returns active prices only unless asked, so catalog lists are walked with
    # `active` true and false (docs/stripe.md, "Archived and inline prices")
    list_variants: tuple[Mapping[str, Any], ...] = ({},)
    sliced: bool = False  # big enough to list in concurrent `created` slices
    notes: tuple[pa.Field, ...] = ()  # staged next to `raw`
    # rows matching this SQL that a complete (full) listing no longer returns were deleted
    # in Stripe: deleted customers, products and coupons, deleted draft invoices
    gone_when_unlisted: str | None = None

    def walks(self) -> list[tuple[str, dict[str, Any]]]:
        """(task key suffix, list params) of each list walk of this dataset."""
        walks = []
        for variant in self.list_variants:
            suffix = "".join(f"-{key}_{str(value).lower()}" for key, value in variant.items())
            walks.append((suffix, {**self.list_params, **variant}))
        return walks

    @property
    def schema(self) -> pa.Schema:
        """The committed dataset's columns."""
        return pa.schema([pa.field(c.name, c.type) for c in self.columns] + META_FIELDS)

    @property
    def staged_schema(self) -> pa.Schema:
        """The columns of the parts a run writes before it commits."""
        fields = [pa.field("id", pa.string()), pa.field("raw", pa.string()), *self.notes]
        return pa.schema(fields + META_FIELDS)


CUSTOMERS = Dataset(
    "customers",
    "customer",
    "customers",
    (
        ID,
        CREATED,
        DELETED,
        text("name", "name"),
        text("email", "email"),
        text("currency", "currency"),
        text("country", "address", "country"),
        METADATA,
        flag("delinquent", "delinquent"),
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
    (ID, CREATED, DELETED, text("name", "name"), flag("active", "active"), METADATA, LIVEMODE, RAW),
    list_variants=({"active": True}, {"active": False}),
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
        ref("product_id", "product"),
        flag("active", "active"),
        text("currency", "currency"),
        text("type", "type"),
        text("billing_scheme", "billing_scheme"),
        text("tiers_mode", "tiers_mode"),
        integer("unit_amount", "unit_amount"),
        text("unit_amount_decimal", "unit_amount_decimal"),
        text("recurring_interval", "recurring", "interval"),
        integer("recurring_interval_count", "recurring", "interval_count"),
        text("recurring_usage_type", "recurring", "usage_type"),
        text("tax_behavior", "tax_behavior"),
        text("nickname", "nickname"),
        LIVEMODE,
        RAW,
    ),
    # tiers and currency_options are includable: sent only when expanded
    list_params={"expand": ["data.tiers", "data.currency_options"]},
    list_variants=({"active": True}, {"active": False}),
)

COUPONS = Dataset(
    "coupons",
    "coupon",
    "coupons",
    (
        ID,
        CREATED,
        DELETED,
        text("name", "name"),
        number("percent_off", "percent_off"),
        integer("amount_off", "amount_off"),
        text("currency", "currency"),
        text("duration", "duration"),
        integer("duration_in_months", "duration_in_months"),
        flag("valid", "valid"),
        LIVEMODE,
        RAW,
    ),
    gone_when_unlisted="true",
)

DISCOUNTS = Dataset(
    "discounts",
    "discount",
    None,  # no list endpoint: collected from expanded subscriptions and from events
    (
        ID,
        instant("created", "start"),
        DELETED,
        ref("coupon_id", "source", "coupon"),
        ref("customer_id", "customer"),
        text("subscription_id", "subscription"),
        text("subscription_item_id", "subscription_item"),
        text("invoice_id", "invoice"),
        instant("start", "start"),
        instant("end", "end"),
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
        ref("customer_id", "customer"),
        text("status", "status"),
        text("currency", "currency"),
        instant("start_date", "start_date"),
        instant("ended_at", "ended_at"),
        instant("canceled_at", "canceled_at"),
        instant("cancel_at", "cancel_at"),
        flag("cancel_at_period_end", "cancel_at_period_end"),
        text("cancellation_reason", "cancellation_details", "reason"),
        text("cancellation_feedback", "cancellation_details", "feedback"),
        instant("trial_start", "trial_start"),
        instant("trial_end", "trial_end"),
        Column("item_count", pa.int64(), "json_array_length(raw, '$.items.data')"),
        METADATA,
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
        ref("customer_id", "customer"),
        ref("subscription_id", "parent", "subscription_details", "subscription"),
        text("status", "status"),
        text("currency", "currency"),
        text("billing_reason", "billing_reason"),
        instant("period_start", "period_start"),
        instant("period_end", "period_end"),
        integer("subtotal", "subtotal"),
        integer("total", "total"),
        amount_sum("total_taxes", "total_taxes"),
        integer("amount_due", "amount_due"),
        integer("amount_paid", "amount_paid"),
        instant("paid_at", "status_transitions", "paid_at"),
        instant("voided_at", "status_transitions", "voided_at"),
        instant("marked_uncollectible_at", "status_transitions", "marked_uncollectible_at"),
        text("customer_country", "customer_address", "country"),
        note("line_count", pa.int64()),
        LIVEMODE,
        RAW,
    ),
    sliced=True,
    notes=(pa.field("line_count", pa.int64()),),
    gone_when_unlisted="status = 'draft'",
)

_LINE_SUBSCRIPTION = (
    "coalesce(json_extract_string(raw, '$.parent.subscription_item_details.subscription'), "
    "json_extract_string(raw, '$.parent.invoice_item_details.subscription'))"
)
_LINE_PRORATION = (
    "coalesce(try_cast(json_extract(raw, '$.parent.subscription_item_details.proration') "
    "as boolean), try_cast(json_extract(raw, '$.parent.invoice_item_details.proration') "
    "as boolean), false)"
)
_LINE_INVOICE_ITEM = (
    "coalesce(json_extract_string(raw, '$.parent.subscription_item_details.invoice_item'), "
    "json_extract_string(raw, '$.parent.invoice_item_details.invoice_item'))"
)

INVOICE_LINES = Dataset(
    "invoice_lines",
    "line_item",
    None,  # children of invoices: embedded first page, then /v1/invoices/{id}/lines
    (
        ID,
        note("invoice_id", pa.string()),
        note("customer_id", pa.string()),
        Column("created", TS, "to_timestamp(invoice_created)"),
        text("currency", "currency"),
        integer("amount", "amount"),
        integer("subtotal", "subtotal"),
        amount_sum("discount_amount", "discount_amounts"),
        amount_sum("tax_exclusive", "taxes", "exclusive"),
        amount_sum("tax_inclusive", "taxes", "inclusive"),
        integer("quantity", "quantity"),
        ref("price_id", "pricing", "price_details", "price"),
        text("product_id", "pricing", "price_details", "product"),
        text("parent_type", "parent", "type"),
        Column("subscription_id", pa.string(), _LINE_SUBSCRIPTION),
        text("subscription_item_id", "parent", "subscription_item_details", "subscription_item"),
        Column("invoice_item_id", pa.string(), _LINE_INVOICE_ITEM),
        Column("proration", pa.bool_(), _LINE_PRORATION),
        instant("period_start", "period", "start"),
        instant("period_end", "period", "end"),
        text("description", "description"),
        RAW,
    ),
    notes=(
        pa.field("invoice_id", pa.string()),
        pa.field("customer_id", pa.string()),
        pa.field("invoice_created", pa.int64()),
    ),
)

CREDIT_NOTES = Dataset(
    "credit_notes",
    "credit_note",
    "credit_notes",
    (
        ID,
        CREATED,
        ref("customer_id", "customer"),
        ref("invoice_id", "invoice"),
        text("status", "status"),
        text("type", "type"),
        text("reason", "reason"),
        text("currency", "currency"),
        integer("subtotal", "subtotal"),
        integer("total", "total"),
        instant("effective_at", "effective_at"),
        instant("voided_at", "voided_at"),
        note("line_count", pa.int64()),
        LIVEMODE,
        RAW,
    ),
    sliced=True,
    notes=(pa.field("line_count", pa.int64()),),
)

EVENTS = Dataset(
    "events",
    "event",
    None,  # read by the incremental sync, kept for audit
    (
        ID,
        CREATED,
        text("type", "type"),
        text("object_type", "data", "object", "object"),
        text("object_id", "data", "object", "id"),
        text("api_version", "api_version"),
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

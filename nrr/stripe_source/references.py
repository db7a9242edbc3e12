"""Catalog objects no list returns, fetched by id after the list walks.

Stripe's price list returns active prices only unless `active=false` is asked (both are
walked), and never returns inline prices (created with `price_data` on a subscription item
or an invoice item): those exist only where they are referenced. An archived product may
be referenced by archived prices. So after the walks, every price an invoice line or a
subscription item references and every product a price references that neither the lake
nor this run's parts hold is retrieved, one request each, and lands in the lake like any
other observation (`_source = retrieve`). Once there, it is never fetched again.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from nrr.stripe_source.client import StripeAccessError
from nrr.stripe_source.datasets import INVOICE_LINES, PRICES, PRODUCTS, SUBSCRIPTIONS, Dataset
from nrr.stripe_source.fetch import Batch, Observer
from nrr.stripe_source.lake import Staging, dataset_path

PRICE_EXPAND = ["tiers", "currency_options"]  # includable: sent only when expanded

# what references a price or a product, as SQL over a relation with a `raw` column
_LINE_PRICE = "json_extract_string(raw, '$.pricing.price_details.price')"
_ITEM_PRICES = "unnest(json_extract_string(raw, '$.items.data[*].price.id'))"
_PRICE_PRODUCT = (
    "coalesce(json_extract_string(raw, '$.product.id'), json_extract_string(raw, '$.product'))"
)


def _files(root: Path, staging: Staging, dataset: Dataset) -> list[str]:
    committed = dataset_path(root, dataset.name)
    files = [committed] if committed.exists() else []
    return [str(path) for path in [*files, *staging.parts(dataset.name)]]


def _relation(root: Path, staging: Staging, dataset: Dataset) -> str:
    """`id, raw` of the lake and the run's parts of `dataset` (an empty relation if none)."""
    files = _files(root, staging, dataset)
    if not files:
        return "(select null::varchar as id, null::varchar as raw where false)"
    listed = ", ".join("'" + f.replace("'", "''") + "'" for f in files)
    return f"(select id, raw from read_parquet([{listed}], union_by_name = true))"


def missing_ids(
    con: duckdb.DuckDBPyConnection, root: Path, staging: Staging, dataset: Dataset
) -> list[str]:
    """Ids of prices (or products) referenced in the lake or the run but held by neither."""
    if dataset is PRICES:
        lines = _relation(root, staging, INVOICE_LINES)
        subs = _relation(root, staging, SUBSCRIPTIONS)
        referenced = (
            f"select {_LINE_PRICE} as id from {lines} union select {_ITEM_PRICES} as id from {subs}"
        )
    else:
        referenced = f"select {_PRICE_PRODUCT} as id from {_relation(root, staging, PRICES)}"
    known = _relation(root, staging, dataset)
    rows = con.execute(
        f"""
        select distinct r.id from ({referenced}) as r
        where r.id is not null and r.id not in (select id from {known} where id is not null)
        order by r.id
        """
    ).fetchall()
    return [row[0] for row in rows]


def fetch_missing(observer: Observer, root: Path) -> dict[str, int]:
    """Retrieve the referenced prices, then products, that no list returned; count per dataset.

    A reference Stripe answers with 404 is left out (nothing to record); the ledger then
    names the line whose price is missing.
    """
    staging = observer.staging
    fetched: dict[str, int] = {}
    con = duckdb.connect()
    try:
        for dataset, params in ((PRICES, {"expand": PRICE_EXPAND}), (PRODUCTS, {})):
            assert dataset.service is not None
            batch = Batch()
            for object_id in missing_ids(con, root, staging, dataset):
                try:
                    obj = observer.api.retrieve(dataset.service, object_id, params)
                except StripeAccessError as exc:
                    if getattr(exc.__cause__, "http_status", None) == 404:
                        continue
                    raise
                observer.observe(batch, dataset, obj, source="retrieve")
            observer.write(batch, "references-000000")
            fetched[dataset.name] = batch.count(dataset.name)
    finally:
        con.close()
    return fetched

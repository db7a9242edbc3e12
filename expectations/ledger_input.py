"""Stage a revenue ledger file for validation: typed columns next to the raw text.

The typing rules are the loader's own (nrr.sources.ledger), so what passes here loads there.
Unlike the loader, nothing is rejected: a value that does not parse is kept in an
`*_unparsed` column, so each rule is an expectation whose examples show the offending text.
A Parquet ledger is read by DuckDB itself, and the dates and amounts it stores as such are
typed directly, as the loader does (no copy through Arrow, no round trip through text:
staging 1.8M rows took most of the input gate that way).
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from nrr.expectations.dataset import Dataset

# The loader's own parsing rules: one definition of "a date", "a number", "a text".
from nrr.metrics.engine import quote
from nrr.sources.ledger import (
    ROW_COLUMN,
    attribute_columns,
    attribute_names,
    is_parquet,
    normalised_arrow,
    parquet_input,
    typed_natively,
    typed_rows_sql,
    value_missing,
    value_text,
)

LEDGER_TABLE = "ledger"
LEDGER_INPUT = "_ledger_file"


def stage_ledger(con: duckdb.DuckDBPyConnection, path: Path, reporting_currency: str) -> Dataset:
    """Create the temp table `ledger` from the file; LedgerError when it cannot be read."""
    path = Path(path)
    native: dict[str, str] = {}
    if is_parquet(path):
        names, native = parquet_input(con, path, LEDGER_INPUT)
        attributes = attribute_names(names)
    else:
        arrow = normalised_arrow(path)
        names, attributes = arrow.column_names, attribute_columns(arrow)
        con.register(LEDGER_INPUT, arrow)
    present = set(names)
    natively = typed_natively(native, present)
    attribute_sql = "".join(f", {quote(c)}" for c in attributes)

    def unparsed(column: str) -> str:
        parsed = f"typed.{column}"
        return (
            f"case when not ({value_missing(column, natively)}) and {parsed} is null"
            f" then {value_text(column, natively)} end"
        )

    try:
        con.execute(
            f"""
            create or replace temp table {LEDGER_TABLE} as
            with typed as ({typed_rows_sql(LEDGER_INPUT, present, attributes, native)})
            select
                {ROW_COLUMN},
                customer_id_text as customer_id,
                {_text_or_null("start_date", natively)} as start_date_text,
                {_text_or_null("end_date", natively)} as end_date_text,
                {_text_or_null("mrr", natively)} as mrr_text,
                churn_kind_text as churn_kind{attribute_sql},
                start_date,
                end_date,
                cast(mrr as double) as mrr,
                coalesce(currency_text, '{reporting_currency}') as currency,
                {unparsed("start_date")} as start_date_unparsed,
                {unparsed("end_date")} as end_date_unparsed,
                {unparsed("mrr")} as mrr_unparsed
            from typed
            """
        )
    finally:
        if is_parquet(path):
            con.execute(f"drop view if exists {LEDGER_INPUT}")
        else:
            con.unregister(LEDGER_INPUT)
    return Dataset(
        name="ledger",
        relation=LEDGER_TABLE,
        suite="ledger",
        index_columns=(ROW_COLUMN, "customer_id"),
        source=str(path),
    )


def _text_or_null(column: str, natively: set[str]) -> str:
    """The value as the file holds it, as text (null when empty)."""
    missing, text = value_missing(column, natively), value_text(column, natively)
    return f"case when {missing} then null else {text} end"

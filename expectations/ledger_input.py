"""Stage a revenue ledger file for validation: typed columns next to the raw text.

The typing rules are the loader's own (nrr.sources.ledger), so what passes here loads there.
Unlike the loader, nothing is rejected: a value that does not parse is kept in an
`*_unparsed` column, so each rule is an expectation whose examples show the offending text.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from nrr.expectations.dataset import Dataset

# The loader's own parsing rules: one definition of "a date", "a number", "a text".
from nrr.metrics.engine import quote
from nrr.sources.ledger import ROW_COLUMN, attribute_columns, normalised_arrow, typed_rows_sql

LEDGER_TABLE = "ledger"


def stage_ledger(con: duckdb.DuckDBPyConnection, path: Path, reporting_currency: str) -> Dataset:
    """Create the temp table `ledger` from the file; LedgerError when it cannot be read."""
    arrow = normalised_arrow(Path(path))
    present = set(arrow.column_names)
    attributes = attribute_columns(arrow)
    attribute_sql = "".join(f", {quote(c)}" for c in attributes)
    con.register("_ledger_file", arrow)
    try:
        con.execute(
            f"""
            create or replace temp table {LEDGER_TABLE} as
            with typed as ({typed_rows_sql("_ledger_file", present, attributes)})
            select
                {ROW_COLUMN},
                customer_id_text as customer_id,
                start_text as start_date_text,
                end_text as end_date_text,
                mrr_text,
                churn_kind_text as churn_kind{attribute_sql},
                start_date,
                end_date,
                cast(mrr as double) as mrr,
                coalesce(currency_text, '{reporting_currency}') as currency,
                case when start_text is not null and start_date is null
                    then start_text end as start_date_unparsed,
                case when end_text is not null and end_date is null
                    then end_text end as end_date_unparsed,
                case when mrr_text is not null and mrr is null
                    then mrr_text end as mrr_unparsed
            from typed
            """
        )
    finally:
        con.unregister("_ledger_file")
    return Dataset(
        name="ledger",
        relation=LEDGER_TABLE,
        suite="ledger",
        index_columns=(ROW_COLUMN, "customer_id"),
        source=str(path),
    )

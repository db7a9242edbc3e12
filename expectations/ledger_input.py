"""Stage a revenue ledger file for validation: typed columns next to the raw text.

The typing rules are the loader's own (nrr.sources.ledger), so what passes here loads there.
Unlike the loader, nothing is rejected: a value that does not parse is kept in an
`*_unparsed` column, so each rule is an expectation whose examples show the offending text.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from expectations.dataset import Dataset

# Private helpers of the loader, reused on purpose: one definition of "a date", "a text".
from nrr.sources.ledger import (
    KNOWN_COLUMNS,
    ROW_COLUMN,
    _as_date,
    _normalise_names,
    _quote,
    _text,
    read_arrow,
)

LEDGER_TABLE = "ledger"


def stage_ledger(con: duckdb.DuckDBPyConnection, path: Path, reporting_currency: str) -> Dataset:
    """Create the temp table `ledger` from the file; LedgerError when it cannot be read."""
    arrow = _normalise_names(read_arrow(Path(path)), str(path))
    present = set(arrow.column_names)
    attributes = [c for c in arrow.column_names if c not in KNOWN_COLUMNS and c != ROW_COLUMN]
    attribute_sql = "".join(f",\n    {_text(c, present)} as {_quote(c)}" for c in attributes)
    con.register("_ledger_file", arrow)
    try:
        con.execute(
            f"""
            create or replace temp table {LEDGER_TABLE} as
            with raw as (
                select
                    {ROW_COLUMN},
                    {_text("customer_id", present)} as customer_id,
                    {_text("start_date", present)} as start_date_text,
                    {_text("end_date", present)} as end_date_text,
                    {_text("mrr", present)} as mrr_text,
                    lower({_text("currency", present)}) as currency_text,
                    lower({_text("churn_kind", present)}) as churn_kind{attribute_sql}
                from _ledger_file
            ),
            typed as (
                select
                    *,
                    {_as_date("start_date_text")} as start_date,
                    {_as_date("end_date_text")} as end_date,
                    try_cast(mrr_text as decimal(18, 6)) as mrr_exact
                from raw
            )
            select
                * exclude (mrr_exact, currency_text),
                cast(mrr_exact as double) as mrr,
                coalesce(currency_text, '{reporting_currency}') as currency,
                case when start_date_text is not null and start_date is null
                    then start_date_text end as start_date_unparsed,
                case when end_date_text is not null and end_date is null
                    then end_date_text end as end_date_unparsed,
                case when mrr_text is not null and mrr_exact is null
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

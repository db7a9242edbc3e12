"""A dataset to validate: a relation in a DuckDB connection and the suite that checks it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Dataset:
    """`relation` is a table or view name in the validation connection.

    `index_columns` identify offending rows in examples (ids, the ledger's row number).
    """

    name: str
    relation: str
    suite: str
    index_columns: tuple[str, ...] = ()
    source: str = ""  # where it was read from, for messages (file, directory, warehouse)

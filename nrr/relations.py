"""What a DuckDB connection holds: one catalog query shared by the engine, the close's load
step, the gates and the commands that check for a table before reading it."""

from __future__ import annotations

import duckdb


def persistent_relations(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """The persistent tables and views of the current database and schema (where models are
    created; some marts are views): name -> 'table' or 'view'."""
    here = "database_name = current_database() and schema_name = current_schema()"
    return dict(
        con.execute(
            f"select table_name, 'table' from duckdb_tables() where not temporary and {here}"
            " union all select view_name, 'view' from duckdb_views()"
            f" where not temporary and not internal and {here}"
        ).fetchall()
    )

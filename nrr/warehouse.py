"""Open DuckDB connections to the warehouse with the run's resource limits.

The compute path works in an in-memory database and attaches the warehouse file only after
the inputs validated, so a bad ledger never creates or touches the warehouse.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from nrr.errors import NrrError, first_line
from nrr.relations import persistent_relations
from nrr.settings import Settings

WAREHOUSE_ALIAS = "warehouse"


def scratch_connection(settings: Settings) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB with the configured memory ceiling, spilling under the data dir."""
    con = duckdb.connect(":memory:")
    con.execute(f"set memory_limit = '{settings.duckdb_memory_limit}'")
    if settings.duckdb_threads:
        con.execute(f"set threads = {int(settings.duckdb_threads)}")
    con.execute("set preserve_insertion_order = false")
    con.execute("set enable_progress_bar = false")  # the commands print their own progress
    return con


def attach_warehouse(con: duckdb.DuckDBPyConnection, settings: Settings) -> Path:
    """Attach (creating if needed) the warehouse file and make it the default catalog."""
    path = settings.warehouse_path
    spill = settings.data_dir / ".duckdb_tmp"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        spill.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise NrrError(
            f"the data directory {settings.data_dir} is not writable ({reason})"
        ) from None
    con.execute(f"set temp_directory = '{_sql_path(spill)}'")
    try:
        con.execute(f"attach '{_sql_path(path)}' as {WAREHOUSE_ALIAS}")
    except duckdb.IOException as exc:
        raise NrrError(f"cannot open the warehouse {path}: {first_line(exc)}") from exc
    con.execute(f"use {WAREHOUSE_ALIAS}")
    return path


def read_warehouse(settings: Settings) -> duckdb.DuckDBPyConnection:
    """A read-only connection for reports; a clear error when nothing was computed yet."""
    path = settings.warehouse_path
    if not path.is_file():
        raise NrrError(f"no warehouse at {path}: run `nrr compute` (or `nrr close`) first")
    try:
        return duckdb.connect(str(path), read_only=True)
    except duckdb.IOException as exc:
        raise NrrError(f"cannot open the warehouse {path}: {first_line(exc)}") from exc
    except duckdb.ConnectionException as exc:
        # DuckDB opens a file once per process: not read-only while this process writes it
        raise NrrError(
            f"cannot open the warehouse {path} for reading: this process is writing it "
            "(a close or compute is running); read it once that run has finished"
        ) from exc


@contextmanager
def locked_read(settings: Settings) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-only connection held under the writers' lock, for readers on a close's path.

    DuckDB opens a database file once per process: a read-only connection cannot open while
    another thread holds a read-write one, nor a writer while a reader is open. Waiting for
    the lock (which every writer holds while connected) removes that race.
    """
    from nrr.locking import warehouse_lock

    with warehouse_lock(settings):
        con = read_warehouse(settings)
        try:
            yield con
        finally:
            con.close()


def table_exists(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    """A persistent table or view of that name (marts that are views included)."""
    return name in persistent_relations(con)


def _sql_path(path: Path) -> str:
    return str(path).replace("'", "''")

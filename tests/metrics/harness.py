"""Run the real engine on a few hand-written ledger rows, in an in-memory DuckDB."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date

import duckdb
import pyarrow as pa

from nrr.metrics.engine import KNOWN_LEDGER_COLUMNS as LEDGER_COLUMNS
from nrr.metrics.engine import BuildResult, Engine, EngineParams
from nrr.sources.fx import load_fx_rates
from nrr.sources.ledger import LedgerRules, load_ledger_arrow


def ledger_table(rows: Iterable[Mapping[str, object]]) -> pa.Table:
    """Rows as dicts -> an all-text Arrow table, the way a CSV ledger arrives."""
    rows = list(rows)
    columns: list[str] = list(LEDGER_COLUMNS[:4])
    for row in rows:
        for key in row:
            if key not in columns:
                columns.append(key)
    data = {
        col: pa.array(
            [None if row.get(col) is None else str(row[col]) for row in rows], pa.string()
        )
        for col in columns
    }
    return pa.table(data)


def run_engine(
    rows: Iterable[Mapping[str, object]],
    as_of: date,
    *,
    policy: str = "exclude",
    fx_rows: Iterable[Mapping[str, object]] | None = None,
    dimensions: tuple[str, ...] | None = None,
    windows: tuple[int, ...] = (1, 3, 12),
    engine_class: type[Engine] = Engine,
    con: duckdb.DuckDBPyConnection | None = None,
    **params: object,
) -> tuple[duckdb.DuckDBPyConnection, BuildResult]:
    con = con or duckdb.connect(":memory:")
    # rows add up (data contract), exact repeats included: the engine is under test here, not
    # the loader's guard against accidental duplicates (tests/sources/test_ledger_columns.py)
    load_ledger_arrow(
        con,
        ledger_table(rows),
        source="test-ledger",
        reporting_currency="usd",
        rules=LedgerRules(allow_duplicate_rows=True),
    )
    load_fx_rates(con, None)
    for fx in fx_rows or ():
        con.execute(
            "insert into raw_fx_rates values (?, ?, ?, null)",
            [fx["currency"], fx["rate"], fx.get("month")],
        )
    result = engine_class(
        con,
        EngineParams(
            as_of=as_of,
            reactivation_policy=policy,
            segment_dimensions=dimensions,
            windows=windows,
            **params,
        ),
    ).build()
    return con, result


def window_row(
    con: duckdb.DuckDBPyConnection,
    as_of: date,
    months: int,
    dimension: str = "all",
    segment: str = "all",
) -> dict[str, object]:
    cursor = con.execute(
        """select * from retention_windows
           where as_of = ? and window_months = ? and dimension = ? and segment = ?""",
        [as_of, months, dimension, segment],
    )
    names = [d[0] for d in cursor.description]
    row = cursor.fetchone()
    assert row is not None, f"no retention_windows row for {as_of} {months} {dimension}={segment}"
    return dict(zip(names, row, strict=True))


def mrr_by_month(con: duckdb.DuckDBPyConnection, customer_id: str) -> dict[str, float]:
    return {
        f"{month:%Y-%m}": mrr
        for month, mrr in con.execute(
            "select month, mrr from customer_mrr_monthly where customer_id = ? order by month",
            [customer_id],
        ).fetchall()
    }


def movements(con: duckdb.DuckDBPyConnection, customer_id: str | None = None) -> list[tuple]:
    sql = "select strftime(month, '%Y-%m'), customer_id, movement, amount from mrr_movements"
    args: list[object] = []
    if customer_id is not None:
        sql += " where customer_id = ?"
        args.append(customer_id)
    return con.execute(sql + " order by month, customer_id, movement", args).fetchall()

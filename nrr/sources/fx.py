"""Exchange rates: a CSV/Parquet file and/or inline rates from the settings.

Rates are units of the reporting currency for one unit of `currency`. A row with a `month`
holds for that month; a row without one holds for every month. The engine looks rates up
per month (see `metrics/models/intermediate/int_fx_monthly.sql`).
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from nrr.currencies import ISO_4217_CODES
from nrr.errors import FxRateError, LedgerError
from nrr.sources.ledger import read_arrow


def load_fx_rates(
    con: duckdb.DuckDBPyConnection,
    path: Path | None,
    inline_rates: dict[str, float] | None = None,
    *,
    table: str = "raw_fx_rates",
) -> int:
    """Create `table(currency, rate, month)` from the file and inline rates; return its rows."""
    con.execute(
        f"create or replace temp table {table} "
        "(currency varchar, rate double, month date, _row bigint)"
    )
    if inline_rates:
        for currency, rate in inline_rates.items():
            _check_inline(currency, rate)
            con.execute(
                f"insert into {table} values (?, ?, null, null)", [currency.strip().lower(), rate]
            )
    if path is None:
        return _count(con, table)
    try:
        arrow = read_arrow(Path(path))
    except LedgerError as exc:
        raise FxRateError(str(exc).replace("ledger", "exchange-rates file")) from exc
    names = [name.strip().lower() for name in arrow.column_names]
    for needed in ("currency", "rate"):
        if needed not in names:
            raise FxRateError(
                f"exchange-rates file {path} lacks the column {needed!r}; found {', '.join(names)}"
            )
    arrow = arrow.rename_columns(names)
    import pyarrow as pa  # (only with a rates file: see nrr.sources.ledger)

    arrow = arrow.append_column("_row", pa.array(range(1, arrow.num_rows + 1), pa.int64()))
    month_expr = (
        "try_cast(cast(month as varchar) || case when length(cast(month as varchar)) = 7 "
        "then '-01' else '' end as date)"
        if "month" in names
        else "null::date"
    )
    month_text = "nullif(trim(cast(month as varchar)), '')" if "month" in names else "null"
    con.register("_fx_input", arrow)
    codes = ", ".join(f"'{code}'" for code in sorted(ISO_4217_CODES))
    bad = con.execute(
        f"""
        with typed as (
            select _row,
                lower(trim(cast(currency as varchar))) as currency,
                try_cast(rate as double) as rate,
                cast(rate as varchar) as rate_text,
                {month_text} as month_text,
                {month_expr} as month
            from _fx_input
        )
        select _row, case
            when currency is null or currency not in ({codes})
                then 'currency ' || coalesce(currency, '(empty)') || ' is not an ISO 4217 code'
            when rate is null then 'rate ' || coalesce(rate_text, '(empty)') || ' is not a number'
            when rate <= 0 then 'rate ' || rate_text || ' is not positive'
            when month_text is not null and month is null
                then 'month ' || month_text || ' is not YYYY-MM or a date'
        end as problem
        from typed where problem is not null order by _row limit 20
        """
    ).fetchall()
    if bad:
        con.unregister("_fx_input")
        details = "; ".join(f"row {row}: {problem}" for row, problem in bad[:5])
        raise FxRateError(f"exchange-rates file {path} has bad rows: {details}")
    con.execute(
        f"""
        insert into {table}
        select lower(trim(cast(currency as varchar))), try_cast(rate as double),
               date_trunc('month', {month_expr}), _row
        from _fx_input
        """
    )
    con.unregister("_fx_input")
    duplicates = con.execute(
        f"""select currency, month, count(*) from {table}
            group by all having count(*) > 1 order by all limit 5"""
    ).fetchall()
    if duplicates:
        currency, month, count = duplicates[0]
        when = month.strftime("%Y-%m") if month else "every month"
        raise FxRateError(
            f"exchange-rates file {path} gives {count} rates for {currency} in {when}; keep one"
        )
    return _count(con, table)


def _check_inline(currency: str, rate: float) -> None:
    if currency.strip().lower() not in ISO_4217_CODES:
        raise FxRateError(f"inline exchange rate for {currency!r}: not an ISO 4217 code")
    if rate <= 0:
        raise FxRateError(f"inline exchange rate for {currency}: {rate} is not positive")


def _count(con: duckdb.DuckDBPyConnection, table: str) -> int:
    return con.execute(f"select count(*) from {table}").fetchall()[0][0]

"""Fingerprints: what a month's published figures depend on, hashed.

A month's figures depend only on the revenue that is active at some month end up to and
including that month, the exchange rates, the metric definitions and the code. The
fingerprint hashes exactly that projection of the ledger (an order-independent sum of row
hashes), so a new invoice next month does not make last month look changed, while a late
invoice, a refund that rewrites a period or a corrected ledger row does.
"""

from __future__ import annotations

import hashlib
import json
from datetime import date

import duckdb

import nrr
from nrr.metrics.engine import definitions_fingerprint, ledger_attributes, quote


def code_version() -> str:
    """Package version plus a hash of the metric models: changes when a definition's code does."""
    return f"{nrr.__version__}+sql.{definitions_fingerprint()}"


def next_month(period: date) -> date:
    return date(period.year + period.month // 12, period.month % 12 + 1, 1)


def input_fingerprint(
    con: duckdb.DuckDBPyConnection,
    period: date,
    definitions: dict[str, object],
    *,
    ledger_table: str = "raw_ledger",
    fx_table: str = "raw_fx_rates",
) -> str:
    """Hash of the inputs that can move the figures of `period` (first day of the month)."""
    period = period.replace(day=1)
    boundary = next_month(period)
    attributes = ledger_attributes(con, ledger_table)
    attribute_sql = "".join(f", {quote(name)}" for name in attributes)
    ledger_hash, rows = con.execute(
        f"""
        select
            coalesce(sum(hash(
                customer_id, start_date,
                case when end_date < ? then end_date end,
                mrr, currency,
                case when end_date < ? then churn_kind end{attribute_sql}
            )::hugeint) % 18446744073709551616, 0)::varchar,
            count(*)
        from {ledger_table}
        where mrr > 0 and start_date < ?
        """,
        [boundary, boundary, boundary],
    ).fetchone()
    fx_hash = con.execute(
        f"""select coalesce(sum(hash(currency, rate, month)::hugeint)
                            % 18446744073709551616, 0)::varchar
            from {fx_table} where month is null or month < ?""",
        [boundary],
    ).fetchone()[0]
    payload = json.dumps(
        {
            "period": period.isoformat(),
            "ledger": [ledger_hash, rows],
            "fx": fx_hash,
            "definitions": definitions,
            "code": code_version(),
        },
        sort_keys=True,
        default=str,
    )
    return hashlib.sha256(payload.encode()).hexdigest()[:24]

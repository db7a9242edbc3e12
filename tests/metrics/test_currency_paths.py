"""The engine has two ways to value a spell: once (lines only in the reporting currency) and
month by month (lines in other currencies, whose value moves with the exchange rates). At a
rate of 1 both must give exactly the figures of the same ledger in one currency, including
customers whose lines mix currencies."""

from __future__ import annotations

from datetime import date

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from nrr.metrics.engine import Engine, EngineParams
from nrr.sandbox.ledger_generator import generate_ledger
from nrr.sources.fx import load_fx_rates
from nrr.sources.ledger import load_ledger_arrow

AS_OF = date(2023, 12, 1)
# Rows compared: every figure that does not name the currency itself.
QUERIES = {
    "customer_mrr_monthly": "select month, customer_id, mrr, acv_band, plan, cohort_month "
    "from customer_mrr_monthly",
    "mrr_movements": "select month, customer_id, movement, amount, previous_mrr, mrr, "
    "churn_kind, acv_band, plan from mrr_movements",
    "mrr_bridge": "select * from mrr_bridge where dimension <> 'currency'",
    "retention_windows": "select * from retention_windows where dimension <> 'currency'",
    "cohort_retention": "select * from cohort_retention",
}


def _figures(ledger: pa.Table, policy: str, eur_rate: float | None) -> dict[str, list]:
    con = duckdb.connect(":memory:")
    load_ledger_arrow(con, ledger, source="generated", reporting_currency="usd")
    load_fx_rates(con, None)
    if eur_rate is not None:
        con.execute("insert into raw_fx_rates values ('eur', ?, null, null)", [eur_rate])
    Engine(con, EngineParams(as_of=AS_OF, reactivation_policy=policy)).build()
    return {name: con.execute(f"{sql} order by all").fetchall() for name, sql in QUERIES.items()}


@pytest.fixture(scope="module")
def ledgers() -> tuple[pa.Table, pa.Table]:
    usd = generate_ledger(400, 24, first_month=date(2022, 1, 1), seed=5, with_truth=False).ledger
    # every third row in euros: some customers all in euros, some mixing both currencies
    third = pa.array([i % 3 == 0 for i in range(usd.num_rows)])
    currency = pc.if_else(third, pa.scalar("eur"), usd["currency"])
    mixed = usd.set_column(usd.schema.get_field_index("currency"), "currency", currency)
    return usd, mixed


@pytest.mark.parametrize("policy", ["exclude", "include"])
def test_month_by_month_valuation_at_rate_one_equals_one_currency(ledgers, policy):
    usd, mixed = ledgers
    assert "eur" in set(mixed["currency"].to_pylist())
    single = _figures(usd, policy, None)
    several = _figures(mixed, policy, 1.0)
    for name in QUERIES:
        assert len(several[name]) == len(single[name]) > 0, name
        assert several[name] == single[name], name


def test_month_by_month_valuation_moves_with_the_rate(ledgers):
    """The check above must be able to fail: at another rate the euro customers' MRR moves."""
    usd, mixed = ledgers
    single = _figures(usd, "exclude", None)
    several = _figures(mixed, "exclude", 1.1)
    assert several["customer_mrr_monthly"] != single["customer_mrr_monthly"]

"""The ledger's columns are declared, not guessed; exact duplicates are refused unless allowed."""

from __future__ import annotations

import duckdb
import pytest

from nrr.errors import LedgerError
from nrr.sources.ledger import LedgerRules, load_ledger


def load(tmp_path, text: str, **rules):
    path = tmp_path / "ledger.csv"
    path.write_text(text)
    con = duckdb.connect()
    return con, load_ledger(con, path, "usd", rules=LedgerRules(**rules))


@pytest.mark.parametrize(
    ("header", "meant"),
    [("end date", "end_date"), ("curency", "currency"), ("Start-Date", "start_date"),
     ("churnkind", "churn_kind"), ("amount", "mrr"), ("currency_code", "currency")],
)  # fmt: skip
def test_a_column_resembling_a_ledger_column_is_an_error_naming_it(tmp_path, header, meant):
    base = ["customer_id", "start_date", "mrr"]
    columns = [c for c in base if c != meant] + [header]
    values = {"customer_id": "a", "start_date": "2024-01-01", "mrr": "10"}
    row = [values.get(c, "2024-03-01" if "date" in header.lower() else "10") for c in columns]
    with pytest.raises(LedgerError, match=f"column `{header.lower()}`: did you mean `{meant}`"):
        load(tmp_path, ",".join(columns) + "\n" + ",".join(row) + "\n")


def test_plain_attributes_stay_segments(tmp_path):
    _, loaded = load(
        tmp_path,
        "customer_id,start_date,mrr,country,customer,plan\na,2024-01-01,10,US,Acme,pro\n",
    )
    assert loaded.attribute_columns == ("country", "customer", "plan")


def test_declared_segments_only(tmp_path):
    text = "customer_id,start_date,mrr,plan,region\na,2024-01-01,10,pro,EU\n"
    _, loaded = load(tmp_path, text, segment_columns=("plan", "region"))
    assert loaded.attribute_columns == ("plan", "region")
    with pytest.raises(LedgerError, match="column `region` is neither a ledger column"):
        load(tmp_path, text, segment_columns=("plan",))


def test_exact_duplicates_are_refused_unless_allowed(tmp_path):
    text = "customer_id,start_date,mrr\na,2024-01-01,10\nb,2024-01-01,10\na,2024-01-01,10\n"
    with pytest.raises(LedgerError, match="row 3: repeats row 1 exactly") as refused:
        load(tmp_path, text)
    assert refused.value.total_bad == 1
    con, loaded = load(tmp_path, text, allow_duplicate_rows=True)
    assert loaded.rows == 3
    assert con.execute("select sum(mrr) from raw_ledger").fetchone()[0] == 30

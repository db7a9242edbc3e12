"""Reading revenue ledgers: every bad row reported with file, row and reason; nothing written."""

from __future__ import annotations

from datetime import date

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from nrr.compute import compute
from nrr.errors import FxRateError, LedgerError
from nrr.settings import Settings
from nrr.sources.fx import load_fx_rates
from nrr.sources.ledger import load_ledger

GOOD = "customer_id,start_date,end_date,mrr,currency,plan\nc1,2024-01-01,,100,usd,pro\n"


def _load(path, **kwargs):
    con = duckdb.connect()
    return con, load_ledger(con, path, "usd", **kwargs)


def test_every_kind_of_bad_row_is_reported_with_its_row_number(tmp_path):
    path = tmp_path / "ledger.csv"
    path.write_text(
        "customer_id,start_date,end_date,mrr,currency,churn_kind\n"
        "ok,2024-01-01,,10,usd,\n"  # row 1
        ",2024-01-01,,10,usd,\n"  # row 2: missing id
        "c,2024-13-01,,10,usd,\n"  # row 3: bad date
        "c,2024-01-01,soon,10,usd,\n"  # row 4: bad end date
        "c,2024-01-01,,-5,usd,\n"  # row 5: negative
        "c,2024-02-01,2024-01-01,10,usd,\n"  # row 6: end before start
        "c,2024-01-01,,10,eru,\n"  # row 7: unknown currency
        "c,2024-01-01,,ten,usd,\n"  # row 8: not a number
        "c,2024-01-01,,10,usd,cancelled\n"  # row 9: unknown churn kind
        "c,,,10,usd,\n"  # row 10: missing start
    )
    with pytest.raises(LedgerError) as caught:
        _load(path)
    error = caught.value
    assert error.total_bad == 9
    reasons = {bad.row: bad.reason for bad in error.bad_rows}
    assert reasons == {
        2: "customer_id is missing",
        3: "start_date 2024-13-01 is not a date",
        4: "end_date soon is not a date",
        5: "mrr -5 is negative",
        6: "end_date 2024-01-01 is before start_date 2024-02-01",
        7: "currency eru is not an ISO 4217 code",
        8: "mrr ten is not a number",
        9: "churn_kind cancelled is not voluntary or involuntary",
        10: "start_date is missing",
    }
    assert all(bad.file == str(path) for bad in error.bad_rows)
    assert f"{path}, row 2: customer_id is missing" in str(error)


def test_skip_bad_rows_keeps_the_good_ones_and_lists_the_skipped(tmp_path):
    path = tmp_path / "ledger.csv"
    path.write_text(GOOD + "c2,2024-01-01,,-1,usd,pro\n")
    _con, loaded = _load(path, skip_bad_rows=True)
    assert loaded.rows == 1
    assert [bad.row for bad in loaded.skipped_rows] == [2]
    assert loaded.attribute_columns == ("plan",)


def test_parquet_ledger_with_native_types_and_currency_default(tmp_path):
    path = tmp_path / "ledger.parquet"
    pq.write_table(
        pa.table(
            {
                "Customer_ID": ["a", "b"],
                "start_date": pa.array([date(2024, 1, 1), date(2024, 2, 1)]),
                "end_date": pa.array([None, date(2024, 3, 1)], pa.date32()),
                "mrr": [12.5, 40.0],
                "country": ["FR", None],
            }
        ),
        path,
    )
    con, loaded = _load(path)
    assert loaded.attribute_columns == ("country",)
    rows = con.execute(
        "select customer_id, start_date, end_date, mrr, currency, country from raw_ledger "
        "order by customer_id"
    ).fetchall()
    assert rows == [
        ("a", date(2024, 1, 1), None, pytest.approx(12.5), "usd", "FR"),
        ("b", date(2024, 2, 1), date(2024, 3, 1), pytest.approx(40.0), "usd", None),
    ]


def test_bad_rows_of_a_typed_parquet_ledger_are_reported_in_the_file_s_own_values(tmp_path):
    """Dates and numbers a Parquet file stores natively are typed without a trip through
    text, and a bad one is still named by its value and row."""
    path = tmp_path / "ledger.parquet"
    pq.write_table(
        pa.table(
            {
                "customer_id": ["ok", "late", "neg", "nostart", "nomrr", "nan", "mixed"],
                "start_date": pa.array(
                    [date(2024, 1, 1), date(2024, 2, 1), date(2024, 1, 1), None]
                    + [date(2024, 1, 1)] * 3
                ),
                "end_date": pa.array(
                    [None, date(2024, 1, 1), None, None, None, None, None], pa.date32()
                ),
                "mrr": [10.0, 10.0, -2.5, 10.0, None, float("nan"), 1e30],
                "currency": ["usd"] * 7,
            }
        ),
        path,
    )
    with pytest.raises(LedgerError) as caught:
        _load(path)
    reasons = {bad.row: bad.reason for bad in caught.value.bad_rows}
    assert reasons == {
        2: "end_date 2024-01-01 is before start_date 2024-02-01",
        3: "mrr -2.5 is negative",
        4: "start_date is missing",
        5: "mrr is missing",
        6: "mrr nan is not a number",
        7: "mrr 1e+30 is too large (at most 1,000,000,000 a month)",
    }


def test_a_parquet_column_of_the_wrong_type_is_read_as_text(tmp_path):
    """A number where a date belongs (or a date where an amount does) is parsed from its
    text, like a CSV value, and refused with that text."""
    path = tmp_path / "ledger.parquet"
    pq.write_table(
        pa.table(
            {
                "customer_id": ["a"],
                "start_date": [20240101],
                "mrr": pa.array([date(2024, 1, 1)]),
            }
        ),
        path,
    )
    with pytest.raises(LedgerError) as caught:
        _load(path)
    assert [bad.reason for bad in caught.value.bad_rows] == ["start_date 20240101 is not a date"]


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("missing.csv", None, "ledger file not found"),
        ("empty.csv", "", "is empty"),
        ("nocols.csv", "customer_id,mrr\nc,1\n", "lacks the required column(s) start_date"),
        ("dup.csv", "customer_id,start_date,mrr,MRR\nc,2024-01-01,1,2\n", "column 'mrr' twice"),
        ("bad.parquet", "not parquet at all", "not a valid Parquet file"),
        ("ledger.xlsx", "x", "unsupported ledger format"),
    ],
)
def test_unreadable_ledgers_are_one_clear_error(tmp_path, name, content, message):
    path = tmp_path / name
    if content is not None:
        path.write_text(content)
    with pytest.raises(LedgerError, match=message.replace("(", r"\(").replace(")", r"\)")):
        _load(path)


def test_bad_ledger_writes_nothing_not_even_the_warehouse_file(tmp_path):
    ledger = tmp_path / "ledger.csv"
    ledger.write_text(GOOD + "c2,2024-01-01,,-1,usd,pro\n")
    settings = Settings(data_dir=tmp_path / "data")
    with pytest.raises(LedgerError):
        compute(settings, date(2024, 2, 1), ledger)
    assert not (tmp_path / "data").exists()


def test_bad_ledger_leaves_an_existing_warehouse_byte_for_byte(tmp_path):
    ledger = tmp_path / "ledger.csv"
    ledger.write_text(GOOD)
    settings = Settings(data_dir=tmp_path / "data")
    compute(settings, date(2024, 2, 1), ledger)
    before = settings.warehouse_path.read_bytes()
    ledger.write_text(GOOD + "c2,2024-01-01,,-1,usd,pro\n")
    with pytest.raises(LedgerError):
        compute(settings, date(2024, 2, 1), ledger)
    assert settings.warehouse_path.read_bytes() == before


def test_fx_rates_file_is_validated(tmp_path):
    rates = tmp_path / "rates.csv"
    rates.write_text("currency,rate,month\nEUR,1.1,2024-01\ngbp,-2,\nxyz,1,\nchf,1,2024-99\n")
    with pytest.raises(FxRateError) as caught:
        load_fx_rates(duckdb.connect(), rates)
    text = str(caught.value)
    assert "row 2: rate -2 is not positive" in text
    assert "row 3: currency xyz is not an ISO 4217 code" in text
    assert "row 4: month 2024-99 is not YYYY-MM or a date" in text


def test_fx_rates_file_accepts_months_and_constant_rates(tmp_path):
    rates = tmp_path / "rates.csv"
    rates.write_text("currency,rate,month\nEUR,1.1,2024-01\neur,1.2,2024-02-15\ngbp,1.3,\n")
    con = duckdb.connect()
    assert load_fx_rates(con, rates, {"cad": 0.7}) == 4
    assert con.execute(
        "select currency, rate, month from raw_fx_rates order by currency, month"
    ).fetchall() == [
        ("cad", 0.7, None),
        ("eur", 1.1, date(2024, 1, 1)),
        ("eur", 1.2, date(2024, 2, 1)),
        ("gbp", 1.3, None),
    ]


def test_duplicate_fx_rates_for_one_month_are_rejected(tmp_path):
    rates = tmp_path / "rates.csv"
    rates.write_text("currency,rate,month\nEUR,1.1,2024-01\neur,1.2,2024-01-20\n")
    with pytest.raises(FxRateError, match="2 rates for eur in 2024-01"):
        load_fx_rates(duckdb.connect(), rates)

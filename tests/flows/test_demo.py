"""The newcomer's path: `nrr demo` on a small account produces every artefact, and its
headline figures equal what the generator's ground truth says they must be."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from pathlib import Path

import duckdb
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from nrr.demo import run_demo
from nrr.settings import Settings

TODAY = date(2025, 7, 9)  # closes 2025-06


def run_cli(monkeypatch, capsys, argv: list[str]) -> tuple[int, str]:
    from nrr.cli import main

    monkeypatch.setattr("sys.argv", ["nrr", *argv])
    code = 0
    try:
        main()
    except SystemExit as exit_:
        code = exit_.code if isinstance(exit_.code, int) else 1
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def _index(day: date) -> int:
    return day.year * 12 + day.month - 1


def truth_window(truth, rates, m1: int, months: int) -> tuple[float, float]:
    """NRR and GRR of the window ending at m1, from the generator's own month-end MRR, at the
    window start's rates, reactivations excluded (the contract's default)."""
    native: dict[tuple[str, int], dict[str, float]] = defaultdict(dict)
    for cid, month, cur, amount in zip(truth["customer_id"], truth["month"], truth["currency"],
                                       truth["mrr_native"], strict=True):  # fmt: skip
        native[(cid, _index(month))][cur] = native[(cid, _index(month))].get(cur, 0.0) + amount
    m0 = m1 - months

    def at_m0_rates(key):
        return sum(v * rates[(c, m0)] for c, v in native.get(key, {}).items())

    start = expansion = contraction = churn = 0.0
    for cid in {c for c, m in native if m == m0}:
        s = at_m0_rates((cid, m0))
        gap = any((cid, m) not in native for m in range(m0 + 1, m1 + 1))
        e = 0.0 if gap else at_m0_rates((cid, m1))
        start += s
        expansion += max(0.0, e - s)
        contraction += max(0.0, s - e) if e > 0 else 0.0
        churn += s if e == 0 else 0.0
    return (start + expansion - contraction - churn) / start, (start - contraction - churn) / start


@pytest.mark.slow  # the whole demo, twice
def test_demo_produces_every_artefact_and_the_ground_truth_headline(tmp_path, monkeypatch, capsys):
    settings = Settings(data_dir=tmp_path / "data")
    result = run_demo(settings, customers=300, months=18, today=TODAY)
    assert result.config_path == Path("nrr.toml") and Path("nrr.toml").is_file()
    for argv in (["doctor"], ["validate"], ["report", "--as-of", "2025-06"], ["snapshots"],
                 ["close", "--month", "2025-06", "--no-notify"]):  # fmt: skip
        code, output = run_cli(monkeypatch, capsys, argv)  # what the demo suggests next
        assert code == 0, (argv, output)
    assert result.closed_month == date(2025, 6, 1)
    assert result.close["outcome"] == "published"
    assert result.backfill["failed"] == 0 and result.backfill["published"] == 17
    for label, path in result.paths.items():
        assert path.exists(), label
    assert {"warehouse (DuckDB)", "raw lake (Parquet)", "Slack outbox", "HTML report",
            "Data Docs (inputs)", "Data Docs (outputs)", "chart: trend",
            "chart: cohorts"} <= set(result.paths)  # fmt: skip
    for chart in (p for label, p in result.paths.items() if label.startswith("chart")):
        assert chart.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert list((settings.data_dir / "lake").rglob("*.parquet"))

    truth = pq.read_table(result.truth_path).to_pydict()
    fx = pacsv.read_csv(settings.data_dir / "demo" / "fx_rates.csv").to_pydict()
    rates = {(c.lower(), int(str(m)[:4]) * 12 + int(str(m)[5:7]) - 1): r
             for c, r, m in zip(fx["currency"], fx["rate"], fx["month"], strict=True)}  # fmt: skip
    for cur in {c for c, _ in rates}:
        for m in range(_index(result.first_month) - 12, _index(result.closed_month) + 1):
            rates.setdefault((cur, m), rates.get((cur, m - 1)) or min(
                r for (c, mm), r in rates.items() if c == cur))  # fmt: skip
    rates.update({("usd", m): 1.0 for m in range(0, 30000)})
    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    for months in (12, 3, 1):
        nrr, grr = con.execute(
            """select nrr, grr from snapshot_metrics where snapshot_id = ?
               and window_months = ? and dimension = 'all'""",
            [result.close["snapshot_id"], months],
        ).fetchone()
        expected = truth_window(truth, rates, _index(result.closed_month), months)
        assert (nrr, grr) == (pytest.approx(expected[0], abs=1e-6),
                              pytest.approx(expected[1], abs=1e-6)), months  # fmt: skip
    con.close()

    again = run_demo(settings, customers=300, months=18, today=TODAY)
    assert again.close["outcome"] == "unchanged"
    assert again.backfill["published"] == 0 and again.backfill["restated"] == 0

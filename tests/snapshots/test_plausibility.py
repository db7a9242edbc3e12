"""The plausibility gate of the snapshot store: every publication (a backfilled month as much
as a close) is judged against the month's previous version and the previous month."""

from __future__ import annotations

import json
import zlib
from datetime import date
from pathlib import Path

import duckdb
import pytest

from nrr.compute import compute_month
from nrr.errors import NrrError
from nrr.sandbox.ledger_generator import generate_ledger, write_ledger
from nrr.settings import Settings
from nrr.snapshots.plausibility import ImplausibleClose
from nrr.snapshots.store import publish_staged_month

pytestmark = pytest.mark.usefixtures("clean_env")
OCT, NOV = date(2024, 10, 1), date(2024, 11, 1)


@pytest.fixture(scope="module")
def ledgers(tmp_path_factory) -> tuple[Path, Path]:
    """The full ledger and one without about 60% of its customers."""
    folder = tmp_path_factory.mktemp("ledgers")
    full = folder / "full.csv"
    write_ledger(generate_ledger(300, 24, first_month=date(2023, 1, 1), seed=5).ledger, full)
    lines = full.read_text().splitlines()
    kept = [ln for ln in lines[1:] if zlib.crc32(ln.split(",")[0].encode()) % 5 < 2]
    small = folder / "small.csv"
    small.write_text("\n".join([lines[0], *kept]) + "\n")
    return full, small


def publish(settings: Settings, month: date, ledger: Path, tag: str, **kwargs):
    staged = compute_month(settings, month, ledger, settings.data_dir / "staged" / tag)
    return publish_staged_month(settings, staged.directory, **kwargs)


def snapshot_ids(settings: Settings) -> list[str]:
    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    try:
        return [
            r[0] for r in con.execute("select snapshot_id from snapshots order by 1").fetchall()
        ]
    finally:
        con.close()


def test_a_collapse_against_the_previous_version_is_blocked_unless_confirmed(tmp_path, ledgers):
    full, small = ledgers
    settings = Settings(data_dir=tmp_path / "data")
    assert publish(settings, OCT, full, "a").snapshot_id == "2024-10-v1"

    with pytest.raises(ImplausibleClose, match=r"customers \d+ now vs \d+ in 2024-10-v1, -\d+%"):
        publish(settings, OCT, small, "b")
    assert snapshot_ids(settings) == ["2024-10-v1"]  # nothing written

    confirmed = publish(settings, OCT, small, "c", confirm_implausible=True)
    assert confirmed.snapshot_id == "2024-10-v2"
    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    stats = json.loads(con.execute("select stats from snapshots where version = 2").fetchone()[0])
    con.close()
    assert {j["figure"] for j in stats["plausibility_confirmed"]} >= {"customers", "total_mrr"}


def test_a_collapse_against_the_previous_month_is_blocked(tmp_path, ledgers):
    full, small = ledgers
    settings = Settings(data_dir=tmp_path / "data")
    publish(settings, OCT, full, "a")
    with pytest.raises(ImplausibleClose, match="in 2024-10-v1"):
        publish(settings, NOV, small, "b")
    assert snapshot_ids(settings) == ["2024-10-v1"]


def test_bounds_and_small_bases_are_configurable(tmp_path, ledgers):
    full, small = ledgers
    lenient = Settings(data_dir=tmp_path / "data", plausibility_drop_tolerance=0.9)
    publish(lenient, OCT, full, "a")
    assert publish(lenient, OCT, small, "b").snapshot_id == "2024-10-v2"
    tiny = Settings(data_dir=tmp_path / "tiny", plausibility_min_customers=10_000)
    publish(tiny, OCT, full, "a")
    assert publish(tiny, OCT, small, "b").snapshot_id == "2024-10-v2"


def test_a_month_before_the_first_revenue_is_refused(tmp_path, ledgers):
    full, _ = ledgers
    settings = Settings(data_dir=tmp_path / "data")
    with pytest.raises(NrrError, match="before the first revenue in the ledger \\(2023-01\\)"):
        publish(settings, date(2019, 5, 1), full, "a")
    assert not settings.warehouse_path.exists() or snapshot_ids(settings) == []

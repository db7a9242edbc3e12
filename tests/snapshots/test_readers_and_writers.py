"""Readers of the snapshot store and a writer in the same process: DuckDB opens a database
file once per process, so a read-only connection cannot open while another thread holds a
read-write one. The store's readers wait for the writers' lock instead of racing them, and
a reader that does meet a writer gets one clear sentence, not DuckDB's ConnectionException."""

from __future__ import annotations

import threading
from datetime import date

import duckdb
import pytest

from nrr.compute import compute_month
from nrr.errors import NrrError
from nrr.followups import pending_followups
from nrr.locking import warehouse_lock
from nrr.settings import Settings
from nrr.snapshots.month_figures import read_meta
from nrr.snapshots.plausibility import check_staged
from nrr.snapshots.store import latest_stats, publish_staged_month, published_fingerprints
from nrr.warehouse import read_warehouse

PERIOD = date(2024, 6, 1)
LEDGER = "customer_id,start_date,end_date,mrr\na,2024-01-01,,100\nb,2024-02-01,,50\n"


@pytest.fixture
def settings(tmp_path) -> Settings:
    """A warehouse with June published."""
    settings = Settings(data_dir=tmp_path / "data")
    ledger = tmp_path / "ledger.csv"
    ledger.write_text(LEDGER)
    staged = compute_month(settings, PERIOD, ledger, tmp_path / "staged")
    assert publish_staged_month(settings, staged.directory).outcome == "published"
    return settings


class _Writer(threading.Thread):
    """Holds the writers' lock and a read-write connection until told to let go."""

    def __init__(self, settings: Settings, events: list[str]):
        super().__init__(daemon=True)
        self.settings, self.events = settings, events
        self.holding, self.release = threading.Event(), threading.Event()

    def run(self) -> None:
        with warehouse_lock(self.settings):
            con = duckdb.connect(str(self.settings.warehouse_path))
            self.holding.set()
            self.release.wait(30)
            self.events.append("writer closed")
            con.close()


def _check_staged(settings: Settings) -> None:
    staged = settings.data_dir.parent / "staged"
    check_staged(settings, read_meta(staged), staged, confirmed=False)


@pytest.mark.parametrize(
    ("read", "expected"),
    [
        (lambda s: latest_stats(s, date(2024, 7, 1))["period"], PERIOD),
        (lambda s: sorted(published_fingerprints(s)), [PERIOD]),
        (pending_followups, []),
        (_check_staged, None),
    ],
    ids=["latest_stats", "published_fingerprints", "pending_followups", "plausibility"],
)
def test_a_store_reader_waits_for_a_writer_in_another_thread(settings, read, expected):
    events: list[str] = []
    writer = _Writer(settings, events)
    writer.start()
    assert writer.holding.wait(30)
    outcome: dict[str, object] = {}

    def reader() -> None:
        try:
            outcome["value"] = read(settings)
            events.append("reader read")
        except BaseException as exc:  # reported by the assertions below
            outcome["error"] = exc

    thread = threading.Thread(target=reader, daemon=True)
    thread.start()
    thread.join(1.0)  # long enough to fail fast if it does not wait
    writer.release.set()
    thread.join(30)
    writer.join(30)
    assert "error" not in outcome, outcome.get("error")
    assert events == ["writer closed", "reader read"]
    assert outcome["value"] == expected


def test_a_reader_that_meets_a_writer_of_this_process_gets_one_clear_sentence(settings):
    con = duckdb.connect(str(settings.warehouse_path))  # read-write, like a close
    try:
        with pytest.raises(NrrError, match=r"^cannot open the warehouse .* this process is writ"):
            read_warehouse(settings)
    finally:
        con.close()
    read_warehouse(settings).close()  # and once the writer is gone, it opens

"""The two gates of a close: inputs before compute, outputs before a snapshot is published.

Both return a ValidationReport; the caller stops the close when `report.passed` is False
(a critical expectation failed). Each run writes Data Docs and a JSON summary under
DATA_DIR/validation/<run_id>/. No Prefect here: the flows call these functions.
"""

from __future__ import annotations

import importlib
import math
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import duckdb

from nrr.currencies import ISO_4217_CODES
from nrr.expectations.catalog import load_suite
from nrr.expectations.dataset import Dataset
from nrr.expectations.report import CloseStats, ExpectationOutcome, ValidationReport
from nrr.relations import persistent_relations
from nrr.settings import Settings

VALIDATION_DIR = "validation"
EARLIEST_PLAUSIBLE_DATE = date(1970, 1, 1)  # earlier dates in billing data are typos
OUTPUT_DATASETS = (
    Dataset(
        "customer_mrr_monthly",
        "customer_mrr_monthly",
        "customer_mrr_monthly",
        ("customer_id", "month"),
    ),
    Dataset("closing_mrr", "validation_closing_mrr", "closing_mrr", ("customer_id",)),
    Dataset("customer_cohorts", "customer_cohorts", "customer_cohorts", ("customer_key",)),
    Dataset("mrr_movements", "mrr_movements", "mrr_movements", ("customer_id", "month")),
    Dataset("mrr_bridge", "mrr_bridge", "mrr_bridge", ("month", "dimension", "segment")),
    Dataset(
        "retention_windows",
        "retention_windows",
        "retention_windows",
        ("as_of", "window_months", "dimension", "segment"),
    ),
    Dataset(
        "cohort_retention", "cohort_retention", "cohort_retention", ("cohort_month", "age_months")
    ),
)


@dataclass(frozen=True)
class CloseWindow:
    """The instants a close is judged against."""

    as_of: date  # first day of the closed month
    last_day: date  # its last day
    end: datetime  # first instant after it (settings.timezone), as naive UTC
    now: datetime  # when the validation runs, naive UTC

    @classmethod
    def for_month(cls, as_of: date, tz: str, now: datetime | None = None) -> CloseWindow:
        first = as_of.replace(day=1)
        following = (first + timedelta(days=32)).replace(day=1)
        end = datetime(following.year, following.month, 1, tzinfo=ZoneInfo(tz))
        current = now or datetime.now(UTC)
        if current.tzinfo is None:
            current = current.replace(tzinfo=UTC)
        return cls(
            as_of=first,
            last_day=following - timedelta(days=1),
            end=_naive_utc(end),
            now=_naive_utc(current),
        )


def import_gx_in_background() -> threading.Thread:
    """Start importing Great Expectations on a thread and return it.

    GX's imports (scipy, altair, marshmallow, ...) take seconds; a close starting Prefect's
    ephemeral API meanwhile mostly waits for that server, so the gates find GX loaded.
    """
    thread = threading.Thread(
        target=importlib.import_module, args=("nrr.expectations.gx_runner",), daemon=True
    )
    thread.start()
    return thread


def validate_inputs(
    settings: Settings,
    *,
    as_of: date,
    ledger_path: Path | None,
    previous: CloseStats | None,
    now: datetime | None = None,
) -> ValidationReport:
    """Validate the close's inputs: the ledger file, or the raw Stripe lake, and FX rates.

    Raises NrrError (naming the file) when an input cannot be read at all.
    """
    from nrr.sources.fx import load_fx_rates
    from nrr.warehouse import scratch_connection

    window = CloseWindow.for_month(as_of, settings.timezone, now)
    con = scratch_connection(settings)
    con.execute("set enable_progress_bar = false")
    spill = Path(settings.data_dir) / ".duckdb_tmp"
    spill.mkdir(parents=True, exist_ok=True)
    con.execute("set temp_directory = ?", [str(spill)])
    try:
        if ledger_path is not None:
            from nrr.expectations.ledger_input import stage_ledger

            datasets = [stage_ledger(con, Path(ledger_path), settings.reporting_currency)]
            modified = datetime.fromtimestamp(Path(ledger_path).stat().st_mtime, UTC)
            extra = {"ledger_modified_at": _naive_utc(modified)}
        else:
            from nrr.expectations.lake_input import stage_lake

            datasets = stage_lake(con, settings)
            extra = {}
        load_fx_rates(con, settings.fx_rates_path, settings.inline_fx_rates, table="raw_fx_rates")
        _write_parameters(con, settings, window, extra)
        return _run("inputs", settings, window, con, datasets, previous)
    finally:
        con.close()


def validate_outputs(
    con: duckdb.DuckDBPyConnection,
    settings: Settings,
    *,
    as_of: date,
    previous: CloseStats | None,
    now: datetime | None = None,
) -> ValidationReport:
    """Validate the derived tables in the warehouse `con` (read-only is fine) for `as_of`."""
    from nrr.errors import NrrError

    window = CloseWindow.for_month(as_of, settings.timezone, now)
    present = persistent_relations(con)
    missing = [d.relation for d in OUTPUT_DATASETS if d.name != "closing_mrr"
               if d.relation not in present]  # fmt: skip
    if missing:
        raise NrrError(
            f"the warehouse lacks {', '.join(missing)}: run `nrr compute` before validating it"
        )
    _write_parameters(con, settings, window, {})
    con.execute(
        """
        create or replace temp view validation_closing_mrr as
        select cmm.customer_id, cmm.mrr
        from customer_mrr_monthly as cmm cross join validation_parameters as p
        where cmm.month = p.as_of
        """
    )
    _create_twin(con, settings, window.as_of)
    return _run("outputs", settings, window, con, list(OUTPUT_DATASETS), previous)


def _create_twin(con: duckdb.DuckDBPyConnection, settings: Settings, as_of: date) -> None:
    """The plain SQL twin of the engine for the configured definitions, as temporary views:
    the `*__match*_twin` audits compare every window and cohort figure with it."""
    from nrr.compute import engine_params
    from nrr.metrics.twin import create_twin

    create_twin(con, engine_params(settings, as_of))


# --- shared run machinery ------------------------------------------------------------------
def _run(
    phase: str,
    settings: Settings,
    window: CloseWindow,
    con: duckdb.DuckDBPyConnection,
    datasets: Iterable[Dataset],
    previous: CloseStats | None,
) -> ValidationReport:
    from nrr.expectations.gx_runner import GxSession

    started = time.perf_counter()
    run_id = f"{window.as_of:%Y-%m}-{phase}-{window.now:%Y%m%dT%H%M%S%f}"
    run_dir = Path(settings.data_dir) / VALIDATION_DIR / run_id
    session = GxSession(run_dir / "data_docs", run_id)
    results: list[ExpectationOutcome] = []
    notes: list[str] = []
    row_counts: dict[str, int] = {}
    total_mrr: float | None = None
    for dataset in datasets:
        parameters = _parameters(settings, window, dataset.name, previous)
        suite = load_suite(dataset.suite, parameters)
        notes.extend(f"skipped {reason}" for reason in suite.skipped)
        run = session.validate(con, dataset, suite)
        results.extend(run.outcomes)
        if dataset.name == "closing_mrr":
            total = con.execute(f"select coalesce(sum(mrr), 0) from {dataset.relation}")
            total_mrr = float(total.fetchall()[0][0])
        else:
            row_counts[dataset.name] = run.rows
    report = ValidationReport(
        phase=phase,
        as_of=window.as_of,
        run_id=run_id,
        results=results,
        row_counts=row_counts,
        total_mrr=total_mrr,
        run_dir=run_dir,
        notes=notes,
    )
    report.data_docs_path = session.build_docs()
    report.seconds = time.perf_counter() - started
    report.write_summary(run_dir / "summary.json")
    return report


def _parameters(
    settings: Settings, window: CloseWindow, dataset: str, previous: CloseStats | None
) -> dict[str, Any]:
    """Values for the suites' `$PARAMETER`s; None means 'not known in this run' (skipped)."""
    import pandas as pd

    params: dict[str, Any] = {
        "as_of": pd.Timestamp(window.as_of),
        "close_last_day": pd.Timestamp(window.last_day),
        "close_end": pd.Timestamp(window.end),
        "now": pd.Timestamp(window.now),
        "earliest_date": pd.Timestamp(EARLIEST_PLAUSIBLE_DATE),
        "reporting_currency": settings.reporting_currency,
        "iso_currencies": sorted(ISO_4217_CODES),
        "min_rows": None,
        "max_rows": None,
        "min_total_mrr": None,
        "max_total_mrr": None,
    }
    if previous is None:
        return params
    baseline = previous.row_counts.get(dataset)
    if baseline:
        params["min_rows"] = math.floor(baseline * (1 - settings.volume_drop_tolerance))
        params["max_rows"] = math.ceil(baseline * (1 + settings.volume_growth_tolerance))
    if previous.total_mrr:
        params["min_total_mrr"] = previous.total_mrr * (1 - settings.volume_drop_tolerance)
        params["max_total_mrr"] = previous.total_mrr * (1 + settings.volume_growth_tolerance)
    return params


def _write_parameters(
    con: duckdb.DuckDBPyConnection,
    settings: Settings,
    window: CloseWindow,
    extra: dict[str, datetime | None],
) -> None:
    """The run's parameters as a one-row temp table the SQL audits join to."""
    con.execute(
        """
        create or replace temp table validation_parameters as
        select ?::date as as_of, ?::date as close_last_day, ?::timestamp as close_end,
               ?::timestamp as now, ?::varchar as reporting_currency,
               ?::timestamp as ledger_modified_at
        """,
        [
            window.as_of,
            window.last_day,
            window.end,
            window.now,
            settings.reporting_currency,
            extra.get("ledger_modified_at"),
        ],
    )
    con.execute(
        "create or replace temp table iso_currencies as select unnest(?::varchar[]) as code",
        [sorted(ISO_4217_CODES)],
    )


def _naive_utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(tzinfo=None)

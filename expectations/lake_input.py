"""Stage the raw Stripe lake for validation: one DuckDB view per dataset file, read in place.

Layout (nrr.stripe_source.lake, docs/stripe.md): DATA_DIR/lake/stripe/<dataset>.parquet,
one row per Stripe object, with `_extracted_at` / `_run_id` on every row, and `_state.json`
recording the last finished extraction. Nothing is loaded into memory here: the views read
the Parquet files when the suites stream them.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from nrr.errors import NrrError
from nrr.expectations.dataset import Dataset
from nrr.settings import Settings

# dataset -> columns that identify an offending row in examples
REQUIRED = {
    "customers": ("id",),
    "products": ("id",),
    "prices": ("id",),
    "subscriptions": ("id", "customer_id"),
    "invoices": ("id", "customer_id"),
    "invoice_lines": ("id", "invoice_id"),
}
# An account may have none of these, and the extractor writes no file for an empty dataset.
OPTIONAL = {
    "coupons": ("id",),
    "discounts": ("id", "customer_id"),
    "credit_notes": ("id", "invoice_id"),
}
EXTRACTION = "stripe_extraction"
STATE_FILE = "_state.json"


def stripe_root(settings: Settings) -> Path:
    return Path(settings.lake_dir) / "stripe"


def stage_lake(con: duckdb.DuckDBPyConnection, settings: Settings) -> list[Dataset]:
    """Views over every dataset file plus the extraction summary; NrrError naming the file
    when the lake, a required dataset or a file's Parquet structure is missing or broken."""
    root = stripe_root(settings)
    if not root.is_dir():
        raise NrrError(
            f"no Stripe lake at {root}: run `nrr extract` first, or pass --ledger to validate "
            "a revenue ledger instead"
        )
    datasets = []
    for name, index in {**REQUIRED, **OPTIONAL}.items():
        path = root / f"{name}.parquet"
        if path.exists():
            _check_parquet(path, name)
            con.execute(f"create or replace temp view {name} as select * from {_scan(path)}")
        elif name in REQUIRED:
            raise NrrError(
                f"the Stripe lake lacks the {name} dataset ({path} is missing): run "
                "`nrr extract --full` to rebuild it"
            )
        else:
            _empty_view(con, name)
        datasets.append(
            Dataset(
                name=name,
                relation=name,
                suite=f"stripe_{name}",
                index_columns=index,
                source=str(path),
            )
        )
    _stage_extraction(con, root)
    datasets.append(
        Dataset(
            name=EXTRACTION,
            relation=EXTRACTION,
            suite=EXTRACTION,
            index_columns=("source",),
            source=str(root / STATE_FILE),
        )
    )
    return datasets


def _scan(path: Path) -> str:
    return "read_parquet('" + str(path).replace("'", "''") + "')"


def _check_parquet(path: Path, name: str) -> None:
    """Read the footer: a truncated or foreign file fails here with its name, not mid-run."""
    try:
        pq.ParquetFile(path).metadata  # noqa: B018 (reading it is the check)
    except (pa.ArrowException, OSError) as exc:
        raise NrrError(
            f"the Stripe lake file {path} ({name}) is not readable Parquet ({exc}); "
            "run `nrr extract --full` to rebuild it"
        ) from exc


def _empty_view(con: duckdb.DuckDBPyConnection, name: str) -> None:
    """An empty view with the dataset's columns, so its suite and the audits still run."""
    from nrr.stripe_source.datasets import BY_NAME

    table = BY_NAME[name].schema.empty_table()
    con.register(f"_empty_{name}", table)
    con.execute(f"create or replace temp view {name} as select * from _empty_{name}")


def _stage_extraction(con: duckdb.DuckDBPyConnection, root: Path) -> None:
    """One row describing the latest extraction: from `_state.json` when it records a
    finished run, else the newest `_extracted_at` found in the datasets."""
    finished, run_id, pending = _read_state(root / STATE_FILE)
    if finished is None:
        union = " union all ".join(
            f"select max(_extracted_at) as t, any_value(_run_id) as r from {name}"
            for name in REQUIRED
        )
        row = con.execute(f"select max(t), arg_max(r, t) from ({union})").fetchall()[0]
        finished = row[0].astimezone(UTC).replace(tzinfo=None) if row[0] else None
        run_id, source = row[1], "lake rows (_extracted_at)"
    else:
        source = "state (_state.json last_run)"
    con.execute(
        f"""
        create or replace temp table {EXTRACTION} as
        select ?::varchar as source, ?::timestamp as extracted_at, ?::varchar as run_id,
               ?::varchar as pending_run_id
        """,
        [source, finished, run_id, pending],
    )


def _read_state(path: Path) -> tuple[datetime | None, str | None, str | None]:
    """(last finished extraction as naive UTC, its run id, the unfinished run's id)."""
    if not path.is_file():
        return None, None, None
    try:
        state = json.loads(path.read_text("utf-8"))
        last = state.get("last_run") or {}
        pending = (state.get("pending") or {}).get("run_id")
        finished = last.get("finished_at")
        if not finished:
            return None, None, pending
        moment = datetime.fromisoformat(finished)
    except (ValueError, AttributeError) as exc:
        raise NrrError(
            f"the Stripe extraction state {path} is unreadable ({exc}); "
            "run `nrr extract --full` to rebuild the lake"
        ) from exc
    if moment.tzinfo is None:
        moment = moment.astimezone()  # the extractor writes its local clock
    return moment.astimezone(UTC).replace(tzinfo=None), last.get("run_id"), pending

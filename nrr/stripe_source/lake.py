"""The raw Stripe lake: staged parts while a run fetches, one Parquet file per dataset after.

Layout under `<data dir>/lake/stripe/`:

    <dataset>.parquet            committed data, one row per object (readers use only these)
    _state.json                  cursors and the run in progress (see state.py)
    _runs/<run_id>/<dataset>/    parts staged by the run in progress

A run writes its pages as small parts (each atomically) and, when every task is done,
commits: for each dataset, the committed file and the run's parts are merged, duplicates
removed keeping each object's newest observation, and the result atomically replaces the
committed file. Newest means: later run first; within a run, what was fetched after the
events were read before what an event said; among events, the later one. Invoice lines
follow their invoice: the lines of an invoice are the set seen with its newest observation,
so a line removed from a draft does not linger.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from nrr.stripe_source.atomic import TMP_SUFFIX, write_parquet, write_with
from nrr.stripe_source.datasets import BY_NAME, INVOICE_LINES, META_FIELDS, Dataset

FETCHED_VERSION = 2**62  # fetched after the events were read: newer than any event


def stripe_root(lake_dir: Path) -> Path:
    return Path(lake_dir) / "stripe"


def dataset_path(root: Path, name: str) -> Path:
    return root / f"{name}.parquet"


def run_dir(root: Path, run_id: str) -> Path:
    return root / "_runs" / run_id


def to_json(obj: Any) -> str:
    """Compact JSON in Stripe's own key order (the same object gives the same text)."""
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


def to_table(
    dataset: Dataset,
    objects: Iterable[Mapping[str, Any]],
    *,
    run_id: str,
    extracted_at: datetime,
    source: str,
    versions: Iterable[int] | None = None,
    notes: Iterable[Mapping[str, Any]] | None = None,
) -> pa.Table:
    """A staged part: id, the raw JSON, the dataset's notes and the run's bookkeeping.

    The typed columns are computed from `raw` at commit (see `typed_sql`).
    """
    objects = list(objects)
    count = len(objects)
    note_rows = list(notes) if notes is not None else [{}] * count
    version_list = list(versions) if versions is not None else [FETCHED_VERSION] * count
    arrays = [
        pa.array([obj.get("id") for obj in objects], pa.string()),
        pa.array([to_json(obj) for obj in objects], pa.string()),
        *(pa.array([n.get(f.name) for n in note_rows], f.type) for f in dataset.notes),
        pa.array([run_id] * count, pa.string()),
        pa.array([extracted_at] * count, pa.timestamp("us", tz="UTC")),
        pa.array([source] * count, pa.string()),
        pa.array(version_list, pa.int64()),
    ]
    return pa.Table.from_arrays(arrays, schema=dataset.staged_schema)


def typed_sql(dataset: Dataset, staged: str) -> str:
    """SQL computing the dataset's typed columns from staged rows (a relation or subquery)."""
    columns = ",\n    ".join(f"{c.sql} as {_quote(c.name)}" for c in dataset.columns)
    meta = ", ".join(_quote(f.name) for f in META_FIELDS)
    return f"select\n    {columns},\n    {meta}\nfrom {staged}"


def typed_table(dataset: Dataset, staged: pa.Table) -> pa.Table:
    """The committed form of staged rows, without writing anything (tests, pure uses)."""
    con = duckdb.connect()
    try:
        con.register("_staged", staged)
        return con.sql(typed_sql(dataset, "_staged")).to_arrow_table().cast(dataset.schema)
    finally:
        con.close()


class Staging:
    """Parts of one run, written atomically with names that a resumed run reproduces."""

    def __init__(self, root: Path, run_id: str) -> None:
        self.dir = run_dir(root, run_id)

    def write(self, dataset: str, part: str, table: pa.Table) -> Path:
        target = self.dir / dataset / f"{part}.parquet"
        write_parquet(target, table)
        return target

    def parts(self, dataset: str) -> list[Path]:
        folder = self.dir / dataset
        if not folder.is_dir():
            return []
        return sorted(p for p in folder.glob("*.parquet") if not p.name.endswith(TMP_SUFFIX))

    def remove(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)


def remove_stale_runs(root: Path, keep: str | None) -> None:
    """Drop staging left by runs that were abandoned (not the one being resumed)."""
    runs = root / "_runs"
    if not runs.is_dir():
        return
    for folder in runs.iterdir():
        if folder.name != keep:
            shutil.rmtree(folder, ignore_errors=True)


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _dedupe_sql(dataset: Dataset, sources: list[str]) -> str:
    names = [field.name for field in dataset.schema]
    cols = ", ".join(_quote(n) for n in names)
    newest = "_run_id desc, _version desc, raw desc"
    src = " union all by name ".join(f"select {cols} from ({source})" for source in sources)
    if dataset.name == INVOICE_LINES.name:
        return f"""
            with src as ({src}),
            -- the lines seen with each invoice's newest observation
            observed as (
                select *, dense_rank() over (
                    partition by invoice_id order by _run_id desc, _version desc
                ) as _observation
                from src
            ),
            ranked as (
                select *, row_number() over (partition by id order by {newest}) as _rank
                from observed where _observation = 1
            )
            select {cols} from ranked where _rank = 1
            order by created nulls first, invoice_id, id
        """
    ranked = f"""
        with src as ({src}),
        ranked as (
            select *, row_number() over (partition by id order by {newest}) as _rank
            from src
        )"""
    if "deleted" not in names or "created" not in names:
        return ranked + f" select {cols} from ranked where _rank = 1 order by created, id"
    # A deletion seen only as Stripe's stub ({id, object, deleted}) keeps the object's last
    # full content, flagged deleted: a deleted customer keeps its country and metadata.
    meta = {"deleted", "_run_id", "_extracted_at", "_source", "_version"}
    merged = ", ".join(
        f"w.{_quote(n)}"
        if n in meta
        else f"case when w._stub and f.id is not null then f.{_quote(n)} else w.{_quote(n)} end "
        f"as {_quote(n)}"
        for n in names
    )
    return (
        ranked
        + f""",
        flagged as (select *, coalesce(deleted and created is null, false) as _stub from ranked),
        winners as (select * from flagged where _rank = 1),
        full_rows as (
            select * from (
                select *, row_number() over (partition by id order by {newest}) as _full_rank
                from flagged where not _stub
            ) where _full_rank = 1
        )
        select {merged}
        from winners as w left join full_rows as f on w.id = f.id
        order by created nulls first, id
    """
    )


def _swept(dataset: Dataset, query: str, run_id: str) -> str:
    """After a complete listing, flag as deleted what it no longer returned."""
    condition = dataset.gone_when_unlisted
    run = run_id.replace("'", "''")
    return f"""
        select * replace (
            case when _run_id <> '{run}' and ({condition}) then true else deleted end as deleted
        )
        from ({query})
        order by created nulls first, id
    """


_DUCKDB_TYPES = {
    pa.string(): "varchar",
    pa.int64(): "bigint",
    pa.float64(): "double",
    pa.bool_(): "boolean",
}


def _committed_sql(dataset: Dataset, path: Path) -> str:
    """The committed rows; a column added to the dataset since they were written is null."""
    present = set(pq.read_schema(path).names)
    columns = []
    for field in dataset.schema:
        if field.name in present:
            columns.append(_quote(field.name))
        else:
            kind = _DUCKDB_TYPES.get(field.type, "timestamptz")
            columns.append(f"null::{kind} as {_quote(field.name)}")
    return f"select {', '.join(columns)} from read_parquet({_literal(str(path))})"


def commit_dataset(
    con: duckdb.DuckDBPyConnection,
    root: Path,
    dataset: Dataset,
    parts: list[Path],
    *,
    complete_run: str | None = None,
) -> None:
    """Merge `parts` into the committed file of `dataset` (idempotent: safe to repeat).

    `complete_run` is the id of a run that listed the whole dataset (a full run): objects
    it did not see are flagged deleted where the dataset says absence means deletion.
    """
    if not parts:
        return
    target = dataset_path(root, dataset.name)
    files = ", ".join(_literal(str(p)) for p in parts)
    sources = [typed_sql(dataset, f"read_parquet([{files}])")]
    if target.exists():
        sources.append(_committed_sql(dataset, target))
    query = _dedupe_sql(dataset, sources)
    if complete_run is not None and dataset.gone_when_unlisted and target.exists():
        query = _swept(dataset, query, complete_run)

    def copy(tmp: Path) -> None:
        path = str(tmp).replace("'", "''")
        con.execute(f"copy ({query}) to '{path}' (format parquet, compression zstd)")

    write_with(target, copy)


def read_dataset(root: Path, name: str) -> pa.Table:
    """The committed rows of a dataset; an empty table with its columns when not extracted."""
    path = dataset_path(root, name)
    if not path.exists():
        return BY_NAME[name].schema.empty_table()
    return pq.read_table(path)

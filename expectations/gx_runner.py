"""Run suites with Great Expectations 1.x over DuckDB relations, batch by batch, and build
Data Docs for the run.

Why batches of pandas rather than GX's SQL data source: GX 1.24's SQL data source over
DuckDB (duckdb_engine) fails every expectation unless patched, while its pandas data source
is solid. DuckDB streams each relation as Arrow record batches (only the columns the suite
uses), GX validates each batch, and merge.py adds the batch results up exactly. Whole-table
rules run as SQL audits in DuckDB; GX then validates their offending rows (there must be
none), so every check appears in GX's results and Data Docs.
"""

from __future__ import annotations

import datetime as dt
import html
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from expectations.catalog import ExpectationSpec, SuiteSpec
from expectations.dataset import Dataset
from expectations.merge import exception_message, merge_results
from expectations.report import ExpectationOutcome, _jsonable
from nrr.errors import first_line

os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")  # never phone home

import great_expectations as gx
from great_expectations.core.expectation_validation_result import (
    ExpectationSuiteValidationResult,
)
from great_expectations.core.run_identifier import RunIdentifier
from great_expectations.data_context.types.base import (
    DataContextConfig,
    InMemoryStoreBackendDefaults,
    ProgressBarsConfig,
)
from great_expectations.data_context.types.resource_identifiers import (
    ExpectationSuiteIdentifier,
    ValidationResultIdentifier,
)
from great_expectations.execution_engine import pandas_execution_engine

DEFAULT_BATCH_ROWS = 1_000_000
EXAMPLES = 5
# pandas timestamps (nanoseconds) end in 2262; dates beyond are shown at the limit so that a
# typo such as 9999-12-31 still fails the date checks instead of crashing the conversion.
PANDAS_MIN = "1678-01-02"
PANDAS_MAX = "2262-04-10"

for _name in ("great_expectations", "great_expectations.core"):
    logging.getLogger(_name).setLevel(logging.ERROR)

# GX fingerprints every pandas batch under 1 GB (an MD5 of pd.util.hash_pandas_object) as a
# batch marker for its metadata. We never use it, and it cost a third of the run time on
# million-row batches; a threshold of 0 turns it off without touching validation itself.
pandas_execution_engine.HASH_THRESHOLD = 0


@dataclass
class DatasetRun:
    """Outcomes of one dataset's suite and the number of rows validated."""

    outcomes: list[ExpectationOutcome]
    rows: int
    result: Any = None  # the merged ExpectationSuiteValidationResult


@dataclass
class GxSession:
    """One validation run: an ephemeral GX context whose Data Docs go to `docs_dir`."""

    docs_dir: Path
    run_name: str
    batch_rows: int = DEFAULT_BATCH_ROWS
    _context: Any = field(init=False, repr=False)
    _datasource: Any = field(init=False, repr=False)
    _run_id: Any = field(init=False, repr=False)
    _keys: list[Any] = field(default_factory=list, init=False, repr=False)

    def __post_init__(self) -> None:
        config = DataContextConfig(
            store_backend_defaults=InMemoryStoreBackendDefaults(),
            analytics_enabled=False,
            progress_bars=ProgressBarsConfig(globally=False),
            data_docs_sites={
                "local_site": {
                    "class_name": "SiteBuilder",
                    "show_how_to_buttons": False,
                    "store_backend": {
                        "class_name": "TupleFilesystemStoreBackend",
                        "base_directory": str(Path(self.docs_dir).resolve()),
                    },
                    "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
                }
            },
        )
        self._context = gx.get_context(mode="ephemeral", project_config=config)
        self._datasource = self._context.data_sources.add_pandas("duckdb_batches")
        self._run_id = RunIdentifier(run_name=self.run_name, run_time=dt.datetime.now(dt.UTC))

    # --- running ---------------------------------------------------------------------
    def validate(
        self, con: duckdb.DuckDBPyConnection, dataset: Dataset, suite: SuiteSpec
    ) -> DatasetRun:
        """Validate `dataset` with `suite`: direct expectations per batch, then the audits."""
        asset = self._datasource.add_dataframe_asset(dataset.name)
        batch_definition = asset.add_batch_definition_whole_dataframe("batches")
        available = _columns(con, dataset.relation)
        gx_results: dict[int, Any] = {}
        outcomes: dict[int, ExpectationOutcome] = {}
        examples: dict[int, list[dict[str, Any]]] = {}

        direct = [(i, e) for i, e in enumerate(suite.expectations) if e.audit is None]
        runnable = []
        for i, spec in direct:
            missing = [c for c in spec.columns if c not in available]
            if missing:
                outcomes[i] = _outcome(
                    suite,
                    dataset,
                    spec,
                    success=False,
                    error=f"column {', '.join(missing)} is missing from {dataset.name}",
                )
            else:
                runnable.append((i, spec))
        rows = 0
        index_columns = [c for c in dataset.index_columns if c in available]
        columns = _needed_columns([s for _, s in runnable], index_columns, available)
        reader = _stream(
            con, f"select {_select_list(columns)} from {dataset.relation}", self.batch_rows, dataset
        )
        parts: dict[int, list[Any]] = {i: [] for i, _ in runnable}
        for frame in _frames(reader, dataset):
            rows += len(frame)
            if runnable:
                result = batch_definition.get_batch(batch_parameters={"dataframe": frame}).validate(
                    gx.ExpectationSuite(
                        name=suite.name,
                        expectations=[_gx_config(s) for _, s in runnable],
                    ),
                    result_format=_result_format(index_columns),
                )
                for (i, _), part in zip(runnable, _in_order(result, runnable), strict=True):
                    parts[i].append(part)
        for i, spec in runnable:
            gx_results[i] = merge_results(spec.type, spec.kwargs, parts[i], EXAMPLES)

        for i, spec in enumerate(suite.expectations):
            if spec.audit is None:
                continue
            try:
                gx_results[i], examples[i] = self._run_audit(con, batch_definition, spec)
            except duckdb.Error as exc:
                outcomes[i] = _outcome(
                    suite,
                    dataset,
                    spec,
                    success=False,
                    error=f"audit {spec.audit} failed in DuckDB: {first_line(exc)}",
                )

        for i, result in gx_results.items():
            outcomes[i] = _outcome_from_result(
                suite, dataset, suite.expectations[i], result, examples.get(i)
            )
        ordered = [outcomes[i] for i in range(len(suite.expectations))]
        merged = self._store(dataset, suite, [gx_results[i] for i in sorted(gx_results)])
        return DatasetRun(outcomes=ordered, rows=rows, result=merged)

    def _run_audit(self, con, batch_definition, spec: ExpectationSpec):
        """Stream the audit's offending rows through GX (row count must be 0)."""
        finish_pending(con)
        reader = con.sql(spec.audit_sql).to_arrow_reader(self.batch_rows)
        suite = gx.ExpectationSuite(name=f"audit.{spec.audit}", expectations=[_gx_config(spec)])
        examples: list[dict[str, Any]] = []
        parts = []
        for frame, batch in _frames_with_arrow(reader):
            if len(examples) < EXAMPLES and batch.num_rows:
                examples.extend(batch.slice(0, EXAMPLES - len(examples)).to_pylist())
            result = batch_definition.get_batch(batch_parameters={"dataframe": frame}).validate(
                suite, result_format={"result_format": "SUMMARY"}
            )
            parts.append(result.results[0])
        merged = merge_results(spec.type, spec.kwargs, parts, EXAMPLES)
        if examples:
            merged.expectation_config.notes = _examples_markdown(examples)
        return merged, examples

    def _store(self, dataset: Dataset, suite: SuiteSpec, results: list[Any]) -> Any:
        """Record the suite and the dataset's merged result in the run's stores (Data Docs
        renders both: the suite page lists every check, the validation page its outcome)."""
        suite_id = ExpectationSuiteIdentifier(name=suite.name)
        if suite.expectations:
            self._context.suites.add_or_update(
                gx.ExpectationSuite(
                    name=suite.name, expectations=[_gx_config(s) for s in suite.expectations]
                )
            )
        results = [_escaped_for_docs(r) for r in results]
        merged = ExpectationSuiteValidationResult(
            success=all(r.success for r in results),
            results=results,
            suite_name=suite.name,
            statistics={
                "evaluated_expectations": len(results),
                "successful_expectations": sum(r.success for r in results),
                "unsuccessful_expectations": sum(not r.success for r in results),
                "success_percent": 100.0 * sum(r.success for r in results) / len(results)
                if results
                else None,
            },
            meta={
                "great_expectations_version": gx.__version__,
                "run_id": self._run_id,
                "validation_time": self._run_id.run_time,
                "batch_spec": {
                    "data_asset_name": dataset.name,
                    "source": html.escape(str(dataset.source or dataset.relation)),
                },
                "batch_markers": {},
                "active_batch_definition": {
                    "datasource_name": "duckdb_batches",
                    "data_connector_name": "fluent",
                    "data_asset_name": dataset.name,
                    "batch_identifiers": {},
                },
            },
        )
        key = ValidationResultIdentifier(
            expectation_suite_identifier=suite_id,
            run_id=self._run_id,
            batch_identifier=dataset.name,
        )
        self._context.validation_results_store.set(key, merged)
        self._keys.append(key)
        return merged

    def build_docs(self) -> Path:
        """Write the run's Data Docs (HTML) and return the index page."""
        self._context.build_data_docs(site_names=["local_site"])
        return self.docs_dir / "index.html"


# --- helpers ---------------------------------------------------------------------------
def _escaped_for_docs(result: Any) -> Any:
    """A copy of `result` whose data values are HTML-escaped: GX's Data Docs templates put
    observed and unexpected values into the page as they are, so a ledger value such as
    `<img src=x onerror=...>` would otherwise run as script in the page Slack links to."""
    import copy

    safe = copy.deepcopy(result)
    safe.result = _escape_values(safe.result or {})
    if getattr(safe, "exception_info", None):
        safe.exception_info = _escape_values(safe.exception_info)
    config = safe.expectation_config
    if config is not None and isinstance(getattr(config, "notes", None), str):
        config.notes = html.escape(config.notes)
    return safe


def _escape_values(value: Any) -> Any:
    if isinstance(value, str):
        return html.escape(value)
    if isinstance(value, dict):
        return {key: _escape_values(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_escape_values(item) for item in value)
    return value


def _gx_config(spec: ExpectationSpec) -> Any:
    from great_expectations.expectations.expectation_configuration import (
        ExpectationConfiguration,
    )

    config = spec.config()
    config["description"] = f"{spec.description} [{spec.severity.value}]"
    return ExpectationConfiguration(**config).to_domain_obj()


def _result_format(index_columns: list[str]) -> dict[str, Any]:
    fmt: dict[str, Any] = {"result_format": "SUMMARY", "partial_unexpected_count": EXAMPLES}
    if index_columns:
        fmt["unexpected_index_column_names"] = index_columns
    return fmt


def _in_order(result: Any, runnable: list[tuple[int, ExpectationSpec]]) -> list[Any]:
    """GX may reorder results; match them back to the suite's expectations by position."""
    by_key: dict[str, list[Any]] = {}
    for item in result.results:
        by_key.setdefault(_config_key(item.expectation_config), []).append(item)
    ordered = []
    for _, spec in runnable:
        ordered.append(by_key[_config_key(_gx_config(spec).configuration)].pop(0))
    return ordered


def _config_key(config: Any) -> str:
    kwargs = {k: v for k, v in config.kwargs.items() if k not in ("batch_id", "result_format")}
    return f"{config.type}|{config.description}|{sorted(kwargs.items(), key=lambda kv: kv[0])!r}"


def finish_pending(con: duckdb.DuckDBPyConnection) -> None:
    """DuckDB 2 refuses new work while an earlier `execute` result is unread (a caller's
    `fetchone()` leaves one); finish it before streaming."""
    complete = getattr(con, "complete", None)
    if complete is not None:
        complete()


def _columns(con: duckdb.DuckDBPyConnection, relation: str) -> dict[str, str]:
    finish_pending(con)
    relation_ = con.sql(f"select * from {relation}")
    return {
        name: str(kind).upper()
        for name, kind in zip(relation_.columns, relation_.types, strict=True)
    }


def _needed_columns(
    specs: list[ExpectationSpec], index_columns: list[str], available: dict[str, str]
) -> dict[str, str]:
    wanted = [*index_columns, *(c for s in specs for c in s.columns)]
    names = list(dict.fromkeys(wanted)) or list(available)[:1]
    return {name: available[name] for name in names}


def _select_list(columns: dict[str, str]) -> str:
    """Columns converted to types pandas/GX handle vectorised (ns timestamps, floats)."""
    parts = []
    for name, kind in columns.items():
        q = '"' + name.replace('"', '""') + '"'
        if kind.startswith("TIMESTAMP WITH TIME ZONE") or kind == "TIMESTAMPTZ":
            expr = _clamp(f"timezone('UTC', {q})", "timestamp")
        elif kind.startswith("TIMESTAMP"):
            expr = _clamp(f"cast({q} as timestamp)", "timestamp")
        elif kind == "DATE":
            expr = _clamp(q, "date")
        elif kind.startswith("DECIMAL") or kind in ("HUGEINT", "UBIGINT", "UHUGEINT"):
            expr = f"cast({q} as double)"
        else:
            expr = q
        parts.append(f"{expr} as {q}")
    return ", ".join(parts)


def _clamp(expr: str, kind: str) -> str:
    low, high = f"{kind} '{PANDAS_MIN}'", f"{kind} '{PANDAS_MAX}'"
    return f"case when {expr} > {high} then {high} when {expr} < {low} then {low} else {expr} end"


def _stream(con, sql: str, batch_rows: int, dataset: Dataset) -> pa.RecordBatchReader:
    from nrr.errors import NrrError

    finish_pending(con)
    try:
        return con.sql(sql).to_arrow_reader(batch_rows)
    except duckdb.Error as exc:
        raise NrrError(
            f"cannot read {dataset.name} ({dataset.source or dataset.relation}): {first_line(exc)}"
        ) from exc


def _frames(reader: pa.RecordBatchReader, dataset: Dataset):
    from nrr.errors import NrrError

    try:
        for frame, _ in _frames_with_arrow(reader):
            yield frame
    except (duckdb.Error, pa.ArrowException) as exc:
        raise NrrError(
            f"cannot read {dataset.name} ({dataset.source or dataset.relation}): {first_line(exc)}"
        ) from exc


def _frames_with_arrow(reader: pa.RecordBatchReader):
    """pandas frames of the reader's batches; one empty frame for an empty relation."""
    seen = False
    for batch in reader:
        if batch.num_rows == 0 and seen:
            continue
        seen = True
        yield _to_pandas(batch), batch
    if not seen:
        empty = reader.schema.empty_table()
        yield _to_pandas(empty), empty


def _to_pandas(data: pa.RecordBatch | pa.Table):
    return data.to_pandas(date_as_object=False, coerce_temporal_nanoseconds=True)


def _outcome(
    suite: SuiteSpec,
    dataset: Dataset,
    spec: ExpectationSpec,
    *,
    success: bool,
    error: str | None = None,
) -> ExpectationOutcome:
    return ExpectationOutcome(
        suite=suite.name,
        dataset=dataset.name,
        expectation=spec.type,
        description=spec.description,
        severity=spec.severity,
        success=success,
        column=spec.kwargs.get("column") or spec.kwargs.get("column_A"),
        audit=spec.audit,
        error=error,
    )


def _outcome_from_result(
    suite: SuiteSpec,
    dataset: Dataset,
    spec: ExpectationSpec,
    result: Any,
    audit_examples: list[dict[str, Any]] | None,
) -> ExpectationOutcome:
    data = result.result or {}
    error = exception_message(result)
    outcome = _outcome(
        suite, dataset, spec, success=bool(result.success) and not error, error=error
    )
    outcome.element_count = data.get("element_count")
    outcome.unexpected_count = data.get("unexpected_count")
    outcome.observed_value = _jsonable(data.get("observed_value"))
    if spec.audit is not None:
        outcome.unexpected_count = data.get("observed_value")
        outcome.examples = [_jsonable(row) for row in audit_examples or []]
    elif data.get("partial_unexpected_index_list"):
        outcome.examples = [_jsonable(row) for row in data["partial_unexpected_index_list"]]
    elif data.get("partial_unexpected_list"):
        column = outcome.column or "value"
        outcome.examples = [{column: _jsonable(v)} for v in data["partial_unexpected_list"]]
    return outcome


def _examples_markdown(rows: list[dict[str, Any]]) -> str:
    lines = ["Offending rows (first few):"]
    for row in rows:
        lines.append("- " + ", ".join(f"{k}={_jsonable(v)}" for k, v in row.items()))
    return "\n".join(lines)

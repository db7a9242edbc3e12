"""Run suites with Great Expectations 1.x over DuckDB relations, and build Data Docs.

DuckDB computes the figures every expectation is judged on where the data already is: one
aggregate pass per dataset for all its column and table checks (duckdb_metrics), and the SQL
audits for whole-table rules (their offending rows are counted, a few kept as examples). GX's
own expectation classes then judge those figures (`Expectation._validate`, the step its
validator runs after computing metrics), so success, `mostly` and the result format are GX's;
the suites, the results store and Data Docs are GX's too. No batch goes through pandas: on
20 million customer-months that cost more than computing the metrics.

Why not GX's SQL data source: GX 1.24's SQL data source over DuckDB (duckdb_engine) fails
every expectation unless patched, and it runs one query per metric where one pass will do.
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

from nrr.errors import NrrError, first_line
from nrr.expectations.catalog import ExpectationSpec, SuiteSpec
from nrr.expectations.dataset import Dataset
from nrr.expectations.duckdb_metrics import Measured, measure
from nrr.expectations.report import ExpectationOutcome, _jsonable

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

EXAMPLES = 5
AUDIT_BATCH_ROWS = 100_000  # an audit's offending rows are counted batch by batch
NO_EXCEPTION = {"raised_exception": False, "exception_message": None, "exception_traceback": None}

for _name in ("great_expectations", "great_expectations.core"):
    logging.getLogger(_name).setLevel(logging.ERROR)


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
    _context: Any = field(init=False, repr=False)
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
        self._run_id = RunIdentifier(run_name=self.run_name, run_time=dt.datetime.now(dt.UTC))

    # --- running ---------------------------------------------------------------------
    def validate(
        self, con: duckdb.DuckDBPyConnection, dataset: Dataset, suite: SuiteSpec
    ) -> DatasetRun:
        """Validate `dataset` with `suite`: column and table checks from one DuckDB pass,
        then the audits; GX judges every figure and records the results."""
        available = _columns(con, dataset)
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
        index_columns = [c for c in dataset.index_columns if c in available]
        finish_pending(con)
        try:
            rows, measured = measure(
                con, dataset.relation, [s for _, s in runnable], available, index_columns, EXAMPLES
            )
        except duckdb.Error as exc:
            raise NrrError(
                f"cannot read {dataset.name} ({dataset.source or dataset.relation}): "
                f"{first_line(exc)}"
            ) from exc
        for (i, spec), found in zip(runnable, measured, strict=True):
            gx_results[i] = _judge(spec, _metrics(spec, found, rows, available), index_columns)

        for i, spec in enumerate(suite.expectations):
            if spec.audit is None:
                continue
            try:
                gx_results[i], examples[i] = self._run_audit(con, spec)
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

    def _run_audit(self, con, spec: ExpectationSpec):
        """Count the audit's offending rows in DuckDB (GX judges: there must be none)."""
        finish_pending(con)
        reader = con.sql(spec.audit_sql).fetch_arrow_reader(AUDIT_BATCH_ROWS)
        examples: list[dict[str, Any]] = []
        count = 0
        for batch in reader:
            if len(examples) < EXAMPLES and batch.num_rows:
                examples.extend(batch.slice(0, EXAMPLES - len(examples)).to_pylist())
            count += batch.num_rows
        result = _judge(spec, {"table.row_count": count}, [])
        if examples:
            result.expectation_config.notes = _examples_markdown(examples)
        return result, examples

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
                    "datasource_name": "duckdb",
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


def _metrics(
    spec: ExpectationSpec, found: Measured, rows: int, available: dict[str, str]
) -> dict[str, Any]:
    """DuckDB's figures under the metric names the GX expectation reads."""
    if spec.type == "expect_column_to_exist":
        return {"table.columns": list(available)}
    if spec.type.startswith("expect_table_row_count"):
        return {"table.row_count": rows}
    if (
        spec.type.startswith("expect_column_")
        and spec.type.endswith("_to_be_between")
        and (spec.type.split("_")[2] in ("max", "min", "sum"))
    ):
        return {f"column.{spec.type.split('_')[2]}": found.value}
    name = _gx_config(spec).map_metric
    metrics = {
        "table.row_count": rows,
        f"{name}.unexpected_count": found.unexpected,
        f"{name}.unexpected_values": found.values,
        f"{name}.unexpected_index_list": found.rows,
    }
    if found.missing is not None:
        metrics["column_values.nonnull.unexpected_count"] = found.missing
    if found.considered is not None:
        metrics[f"{name}.filtered_row_count"] = found.considered
    return metrics


def _judge(spec: ExpectationSpec, metrics: dict[str, Any], index_columns: list[str]) -> Any:
    """GX's expectation decides on DuckDB's figures (an error is kept as GX keeps it)."""
    from great_expectations.core.expectation_validation_result import (
        ExpectationValidationResult,
    )

    expectation = _gx_config(spec)
    try:
        raw = expectation._validate(
            metrics=metrics, runtime_configuration={"result_format": _result_format(index_columns)}
        )
        result = expectation._build_evr(raw_response=raw)
        result.exception_info = dict(NO_EXCEPTION)
    except Exception as exc:  # GX raised while judging: an error outcome, not a crash
        result = ExpectationValidationResult(
            success=False,
            expectation_config=expectation.configuration,
            exception_info={**NO_EXCEPTION, "raised_exception": True,
                            "exception_message": f"{type(exc).__name__}: {exc}"},
        )  # fmt: skip
    return result


def finish_pending(con: duckdb.DuckDBPyConnection) -> None:
    """DuckDB 2 refuses new work while an earlier `execute` result is unread (a caller's
    `fetchone()` leaves one); finish it before the next query."""
    complete = getattr(con, "complete", None)
    if complete is not None:
        complete()


def _columns(con: duckdb.DuckDBPyConnection, dataset: Dataset) -> dict[str, str]:
    finish_pending(con)
    try:
        relation_ = con.sql(f"select * from {dataset.relation}")
    except duckdb.Error as exc:
        raise NrrError(
            f"cannot read {dataset.name} ({dataset.source or dataset.relation}): {first_line(exc)}"
        ) from exc
    return {
        name: str(kind).upper()
        for name, kind in zip(relation_.columns, relation_.types, strict=True)
    }


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


def exception_message(result: Any) -> str | None:
    """The error GX caught while evaluating the expectation, if any."""
    info = result.exception_info or {}
    if "raised_exception" in info:
        return info.get("exception_message") if info.get("raised_exception") else None
    for value in info.values():  # keyed by metric id when a metric failed
        if isinstance(value, dict) and value.get("raised_exception"):
            return value.get("exception_message")
    return None


def _examples_markdown(rows: list[dict[str, Any]]) -> str:
    lines = ["Offending rows (first few):"]
    for row in rows:
        lines.append("- " + ", ".join(f"{k}={_jsonable(v)}" for k, v in row.items()))
    return "\n".join(lines)

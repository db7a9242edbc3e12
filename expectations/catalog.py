"""The suites (GX JSON under `suites/`) and SQL audits (under `audits/`), read without GX.

A suite file is a plain Great Expectations 1.x suite. Two conventions on top of it:

* `{"$PARAMETER": "name"}` in kwargs is filled from the run's parameters (close dates,
  previous volumes, ...). An expectation whose parameter has no value in this run (e.g. no
  previous close to compare volumes with) is skipped and the run says so in its notes.
* `meta.audit: "<name>"` makes the expectation apply to the offending rows returned by
  `audits/<name>.sql` instead of to the dataset: checks that need the whole table at once
  (uniqueness at the grain, referential integrity, the bridge) run in DuckDB, and GX then
  checks that the audit's result is empty (`expect_table_row_count_to_equal` 0). Generic
  audits (unique_key, foreign_key) take `meta.audit_args`, filled into the SQL with Jinja.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from nrr.expectations.report import Severity

SUITES_DIR = Path(__file__).parent / "suites"
AUDITS_DIR = Path(__file__).parent / "audits"

# Expectations whose figures DuckDB computes in one pass (see duckdb_metrics.py). Anything
# that needs the whole table at once belongs in a SQL audit instead.
MAP_EXPECTATIONS = frozenset(
    {
        "expect_column_values_to_not_be_null",
        "expect_column_values_to_be_null",
        "expect_column_values_to_be_between",
        "expect_column_values_to_be_in_set",
        "expect_column_values_to_not_be_in_set",
        "expect_column_values_to_match_regex",
        "expect_column_value_lengths_to_be_between",
        "expect_column_pair_values_a_to_be_greater_than_b",
    }
)
AGGREGATE_EXPECTATIONS = frozenset(
    {
        "expect_table_row_count_to_equal",
        "expect_table_row_count_to_be_between",
        "expect_column_max_to_be_between",
        "expect_column_min_to_be_between",
        "expect_column_sum_to_be_between",
    }
)
SCHEMA_EXPECTATIONS = frozenset({"expect_column_to_exist"})
SUPPORTED_EXPECTATIONS = MAP_EXPECTATIONS | AGGREGATE_EXPECTATIONS | SCHEMA_EXPECTATIONS
COLUMN_KEYS = ("column", "column_A", "column_B")


@dataclass(frozen=True)
class ExpectationSpec:
    """One expectation of a suite with its parameters filled in."""

    type: str
    kwargs: dict[str, Any]
    severity: Severity
    description: str
    meta: dict[str, Any]

    @property
    def audit(self) -> str | None:
        return self.meta.get("audit")

    @property
    def audit_sql(self) -> str:
        """The audit's query with its arguments filled in."""
        assert self.audit is not None
        return render_audit(self.audit, self.meta.get("audit_args") or {})

    @property
    def columns(self) -> tuple[str, ...]:
        return tuple(self.kwargs[key] for key in COLUMN_KEYS if key in self.kwargs)

    def config(self) -> dict[str, Any]:
        """The GX expectation configuration (type, kwargs, meta, severity, description)."""
        return {
            "type": self.type,
            "kwargs": copy.deepcopy(self.kwargs),
            "meta": copy.deepcopy(self.meta),
            "severity": self.severity.value,
            "description": self.description,
        }


@dataclass(frozen=True)
class SuiteSpec:
    """A suite ready to run: the expectations that apply, and those skipped with the reason."""

    name: str
    expectations: tuple[ExpectationSpec, ...]
    skipped: tuple[str, ...]

    @property
    def direct(self) -> tuple[ExpectationSpec, ...]:
        return tuple(e for e in self.expectations if e.audit is None)

    @property
    def audits(self) -> tuple[ExpectationSpec, ...]:
        return tuple(e for e in self.expectations if e.audit is not None)


@cache
def _suite_json(name: str) -> dict[str, Any]:
    path = SUITES_DIR / f"{name}.json"
    data = json.loads(path.read_text())
    if data.get("name") != name:
        raise ValueError(f"suite file {path} names itself {data.get('name')!r}, not {name!r}")
    for expectation in data["expectations"]:
        kind = expectation["type"]
        if kind not in SUPPORTED_EXPECTATIONS:
            raise ValueError(
                f"suite {name}: {kind} has no one-pass SQL form; "
                "use a supported expectation or a SQL audit"
            )
        if not expectation.get("description"):
            raise ValueError(f"suite {name}: every expectation needs a description ({kind})")
        audit = expectation.get("meta", {}).get("audit")
        if audit and not (AUDITS_DIR / f"{audit}.sql").is_file():
            raise ValueError(f"suite {name}: audit {audit!r} has no file audits/{audit}.sql")
    return data


def suite_names() -> list[str]:
    return sorted(path.stem for path in SUITES_DIR.glob("*.json"))


def load_suite(name: str, parameters: dict[str, Any]) -> SuiteSpec:
    """The suite `name` with `$PARAMETER`s filled from `parameters` (missing -> skipped)."""
    data = _suite_json(name)
    kept: list[ExpectationSpec] = []
    skipped: list[str] = []
    for raw in data["expectations"]:
        missing = sorted(p for p in _parameter_names(raw["kwargs"]) if parameters.get(p) is None)
        if missing:
            skipped.append(f"{name}: {raw['description']} (no {', '.join(missing)})")
            continue
        kept.append(
            ExpectationSpec(
                type=raw["type"],
                kwargs=_substitute(raw["kwargs"], parameters),
                severity=Severity(raw.get("severity", "critical")),
                description=raw["description"],
                meta=dict(raw.get("meta") or {}),
            )
        )
    return SuiteSpec(name=name, expectations=tuple(kept), skipped=tuple(skipped))


def render_audit(name: str, args: dict[str, Any]) -> str:
    """The audit's query: it selects the offending rows; no rows means the rule holds."""
    return _audit_template(name).render(**args).strip().rstrip(";")


@cache
def _audit_template(name: str):
    """An audit may import the metric models' macros (`{% from "macros.sql" import ... %}`):
    a rule such as "to the cent" has one home, shared by the engine and the audits."""
    from jinja2 import Environment, FileSystemLoader, StrictUndefined

    from nrr.metrics.engine import MODELS_DIR

    env = Environment(
        loader=FileSystemLoader([AUDITS_DIR, MODELS_DIR]),
        undefined=StrictUndefined,
        autoescape=False,
    )
    return env.get_template(f"{name}.sql")


def _parameter_names(value: Any) -> set[str]:
    if isinstance(value, dict):
        if set(value) == {"$PARAMETER"}:
            return {value["$PARAMETER"]}
        return set().union(*(_parameter_names(v) for v in value.values())) if value else set()
    if isinstance(value, list):
        return set().union(*(_parameter_names(v) for v in value)) if value else set()
    return set()


def _substitute(value: Any, parameters: dict[str, Any]) -> Any:
    if isinstance(value, dict):
        if set(value) == {"$PARAMETER"}:
            return parameters[value["$PARAMETER"]]
        return {key: _substitute(v, parameters) for key, v in value.items()}
    if isinstance(value, list):
        return [_substitute(v, parameters) for v in value]
    return value


# Suites in the order a close meets them: inputs (ledger or Stripe lake), then outputs.
DOC_ORDER = (
    "ledger",
    "stripe_customers",
    "stripe_products",
    "stripe_prices",
    "stripe_coupons",
    "stripe_discounts",
    "stripe_subscriptions",
    "stripe_invoices",
    "stripe_invoice_lines",
    "stripe_credit_notes",
    "stripe_extraction",
    "customer_mrr_monthly",
    "closing_mrr",
    "customer_cohorts",
    "mrr_movements",
    "mrr_bridge",
    "retention_windows",
    "cohort_retention",
)


def checks_markdown() -> str:
    """Every check of every suite as Markdown tables (docs/validation.md embeds this)."""
    missing = sorted(set(suite_names()) - set(DOC_ORDER))
    if missing:
        raise ValueError(f"add {', '.join(missing)} to DOC_ORDER")
    out: list[str] = []
    for name in DOC_ORDER:
        data = _suite_json(name)
        out += [f"### `{name}`: {data['meta']['dataset']}", ""]
        out += ["| check | severity | how |", "|---|---|---|"]
        for raw in data["expectations"]:
            out.append(f"| {raw['description']} | {raw['severity']} | {_how(raw)} |")
        out.append("")
    return "\n".join(out)


def _how(raw: dict[str, Any]) -> str:
    meta = raw.get("meta") or {}
    if meta.get("audit"):
        args = meta.get("audit_args") or {}
        detail = f" ({', '.join(f'{k}: {v}' for k, v in args.items())})" if args else ""
        return f"SQL audit `{meta['audit']}`{detail}"
    column = raw["kwargs"].get("column") or raw["kwargs"].get("column_A")
    return f"`{raw['type']}`" + (f" on `{column}`" if column else "")


if __name__ == "__main__":
    print(checks_markdown())

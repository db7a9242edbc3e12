"""Run the metric models (SQL files under `metrics/models`) in DuckDB, staging to marts.

Pure domain logic: no Prefect, no I/O beyond the DuckDB connection it is given. The caller
loads `raw_ledger` and `raw_fx_rates` into the connection; `build` turns them into the
warehouse tables of the data contract inside one transaction, so a failed run (a missing
exchange rate, a bridge that does not reconcile) leaves the previous tables untouched.
"""

from __future__ import annotations

import functools
import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import duckdb
from jinja2 import (
    Environment,
    FileSystemBytecodeCache,
    FileSystemLoader,
    StrictUndefined,
    Template,
)

from nrr.errors import BridgeError, FxRateError, NrrError
from nrr.relations import persistent_relations

MODELS_DIR = Path(__file__).parent / "models"
MACROS_FILE = MODELS_DIR / "macros.sql"
SEEDS_DIR = Path(__file__).parent / "seeds"
MAX_SEGMENT_COMBINATIONS = 1_048_576  # segment keys are packed in 20 bits

# The models in dependency order. Staging and intermediate models are temporary tables of the
# run; marts are the warehouse tables users query.
MODELS: tuple[tuple[str, str], ...] = (
    ("staging", "stg_ledger__revenue_periods"),
    ("staging", "stg_fx__rates"),
    ("intermediate", "int_customers"),
    ("intermediate", "int_segments"),
    ("intermediate", "int_months"),
    ("intermediate", "int_fx_monthly"),
    ("intermediate", "int_spell_lines"),
    ("intermediate", "int_spells"),
    ("intermediate", "int_customer_month"),
    ("intermediate", "int_mrr_movements"),
    ("intermediate", "int_window_members"),
    ("intermediate", "int_cohort_members"),
    ("marts", "benchmark_bands"),
    ("marts", "customer_segments"),
    ("marts", "customer_cohorts"),
    ("marts", "customer_mrr_facts"),
    ("marts", "customer_mrr_monthly"),
    ("marts", "mrr_movement_facts"),
    ("marts", "mrr_movements"),
    ("marts", "mrr_bridge"),
    ("marts", "retention_windows"),
    ("marts", "retention_window_member_facts"),
    ("marts", "retention_window_members"),
    ("marts", "cohort_retention"),
    ("marts", "cohort_retention_member_facts"),
    ("marts", "cohort_retention_members"),
    ("marts", "retention_waterfall"),
)
MART_TABLES = tuple(name for layer, name in MODELS if layer == "marts")
# Marts that are views over a compact table of facts, customer_cohorts and customer_segments.
FACTS_OF_VIEWS = {
    "customer_mrr_monthly": "customer_mrr_facts",
    "mrr_movements": "mrr_movement_facts",
}


@dataclass(frozen=True)
class EngineParams:
    """The metric definitions of one run (what a snapshot records as 'definitions')."""

    as_of: date
    reporting_currency: str = "usd"
    reactivation_policy: str = "exclude"
    acv_smb_upper: float = 10_000.0
    acv_enterprise_lower: float = 100_000.0
    windows: tuple[int, ...] = (1, 3, 12)
    segment_dimensions: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        if self.reactivation_policy not in ("exclude", "include"):
            raise NrrError(
                f"reactivation policy must be 'exclude' or 'include', "
                f"not {self.reactivation_policy!r}"
            )
        object.__setattr__(self, "as_of", self.as_of.replace(day=1))
        object.__setattr__(self, "windows", tuple(sorted(set(self.windows) | {1})))

    @property
    def as_of_idx(self) -> int:
        return self.as_of.year * 12 + self.as_of.month - 1


@dataclass
class BuildResult:
    """What a build produced: segment dimensions used, table sizes, timings per model, and
    the SQL of the marts that are views (to recreate them next to staged tables)."""

    attributes: tuple[str, ...]
    dimensions: tuple[str, ...]
    row_counts: dict[str, int] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    views: dict[str, str] = field(default_factory=dict)


def quote(name: str) -> str:
    """Quote an identifier for DuckDB (ledger attribute names come from users' files)."""
    return '"' + name.replace('"', '""') + '"'


def literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def month_date(expr: str) -> str:
    return f"make_date(cast(({expr}) // 12 as integer), cast(({expr}) % 12 + 1 as integer), 1)"


def _packed_line(amount: str, key: str) -> str:
    """A line's amount in cents and its segment key in one 64-bit number: max picks the
    largest line, and the key breaks ties the same way every run."""
    return f"cast(round({amount} * 100) as bigint) * {MAX_SEGMENT_COMBINATIONS} + {key}"


def _line_key(packed: str) -> str:
    """The segment key of a value packed by `packed_line`."""
    return f"cast(({packed}) % {MAX_SEGMENT_COMBINATIONS} as integer)"


def _template_helpers(dimensions: tuple[str, ...]) -> dict[str, Callable[..., str]]:
    grouped = ("acv_band", *dimensions)

    def segment_columns(alias: str | None = None) -> str:
        prefix = f"{alias}." if alias else ""
        return ",\n        ".join(
            f"coalesce({prefix}{quote(col)}, '(none)') as {quote(col)}" for col in grouped
        )

    def dimension_label() -> str:
        whens = " ".join(f"when grouping({quote(col)}) = 0 then {literal(col)}" for col in grouped)
        return f"case {whens} else 'all' end"

    def segment_label() -> str:
        whens = " ".join(f"when grouping({quote(col)}) = 0 then {quote(col)}" for col in grouped)
        return f"case {whens} else 'all' end"

    def grouping_sets(base: str) -> str:
        return ", ".join([f"({base})", *(f"({base}, {quote(col)})" for col in grouped)])

    return {
        "segment_columns": segment_columns,
        "dimension_label": dimension_label,
        "segment_label": segment_label,
        "grouping_sets": grouping_sets,
    }


def create_relation(
    con: duckdb.DuckDBPyConnection,
    name: str,
    kind: str,
    sql: str,
    *,
    temporary: bool = False,
    existing: dict[str, str] | None = None,
) -> None:
    """Create or replace `name` as a table or a view of `sql`. A persistent object of the
    other kind goes first: a warehouse written by an earlier version may hold a table
    where this one keeps a view. `existing` (from `persistent_relations`) saves a catalog
    query per relation when many are created in a row."""
    if not temporary:
        found = (existing if existing is not None else persistent_relations(con)).get(name)
        if found is not None and found != kind:
            con.execute(f"drop {found} {name}")
    con.execute(f"create or replace {'temp ' if temporary else ''}{kind} {name} as\n{sql}")


def model_sql_path(layer: str, name: str) -> Path:
    return MODELS_DIR / layer / f"{name}.sql"


def definitions_fingerprint() -> str:
    """Hash of every model and seed: changes whenever a metric definition's code changes."""
    digest = hashlib.sha256()
    for layer, name in MODELS:
        digest.update(model_sql_path(layer, name).read_bytes())
    digest.update(MACROS_FILE.read_bytes())
    for seed in sorted(SEEDS_DIR.glob("*.csv")):
        digest.update(seed.read_bytes())
    return digest.hexdigest()[:16]


def ledger_attributes(con: duckdb.DuckDBPyConnection, table: str = "raw_ledger") -> tuple[str, ...]:
    columns = [row[0] for row in con.execute(f"describe {table}").fetchall()]
    return tuple(c for c in columns if c not in KNOWN_LEDGER_COLUMNS and not c.startswith("_"))


def resolve_dimensions(
    requested: tuple[str, ...] | None, attributes: tuple[str, ...]
) -> tuple[str, ...]:
    """The segment dimensions to compute: all ledger attributes unless the user named some."""
    if requested is None:
        return attributes
    available = {*attributes, "currency"}
    dims: list[str] = []
    for name in requested:
        key = name.strip().lower()
        if key in ("all", "acv_band"):
            continue  # always computed
        if key not in available:
            raise NrrError(
                f"segment dimension {name!r} is not a column of the ledger "
                f"(available: {', '.join(sorted(available))})"
            )
        if key not in dims:
            dims.append(key)
    return tuple(dims)


# Compiled templates are cached in a per-user temporary directory (keyed by each file's
# checksum): compiling the models again in every process was a tenth of a small compute.
_ENVIRONMENT = Environment(
    loader=FileSystemLoader(MODELS_DIR),
    bytecode_cache=FileSystemBytecodeCache(),
    undefined=StrictUndefined,
    autoescape=False,
    keep_trailing_newline=True,
)


def _macro_text(name: str) -> str:
    """The text of a macro of macros.sql that takes no argument (a constant of a rule)."""
    return str(getattr(_ENVIRONMENT.get_template("macros.sql").module, name)()).strip()


# The ledger's own columns (any other is a segment attribute) and "to the cent" (the bridge
# reconciles when it is off by less than half a cent): their home is macros.sql.
KNOWN_LEDGER_COLUMNS = tuple(col.strip() for col in _macro_text("ledger_columns").split(","))
BRIDGE_TOLERANCE = float(_macro_text("cent_tolerance"))


def macros_module(params: EngineParams):
    """macros.sql with the run's definitions (ACV bounds): each rule's one home, as callables
    the models use like the helpers above."""
    return _ENVIRONMENT.get_template("macros.sql").make_module(
        {
            "acv_smb_upper": repr(float(params.acv_smb_upper)),
            "acv_enterprise_lower": repr(float(params.acv_enterprise_lower)),
        }
    )


@functools.cache
def _template(layer: str, name: str) -> Template:
    """Compiled once per process: the model files do not change while it runs."""
    return _ENVIRONMENT.get_template(f"{layer}/{name}.sql")


class Engine:
    """Renders and runs the models for one set of parameters."""

    def __init__(self, con: duckdb.DuckDBPyConnection, params: EngineParams):
        self.con = con
        self.params = params

    def _context(self, attributes: tuple[str, ...], dimensions: tuple[str, ...]) -> dict:
        single_currency = self._single_currency()
        macros = macros_module(self.params)
        return {
            "attributes": attributes,
            "windows": self.params.windows,
            "single_currency": single_currency,
            "q": quote,
            "literal": literal,
            "dimensions": dimensions,
            "reactivation_policy": self.params.reactivation_policy,
            "month_date": month_date,
            "acv_band": macros.acv_band,
            "acv_band_code": macros.acv_band_code,
            "acv_band_name": macros.acv_band_name,
            "benchmark_band": macros.benchmark_band,
            "to_reporting_currency": macros.to_reporting_currency,
            "churn_kind": macros.churn_kind,
            "packed_line": _packed_line,
            "line_key": _line_key,
            "seed": lambda name: str(SEEDS_DIR / f"{name}.csv").replace("'", "''"),
            **_template_helpers(dimensions),
        }

    def _single_currency(self) -> bool:
        try:
            others = self.con.execute(
                "select count(*) from raw_ledger where currency <> ?",
                [self.params.reporting_currency],
            ).fetchone()[0]
        except duckdb.CatalogException:
            return True
        return others == 0

    def render(self, layer: str, name: str, context: dict) -> str:
        return _template(layer, name).render(**context)

    def _write_parameters(self) -> None:
        p = self.params
        self.con.execute(
            """
            create or replace temp table run_parameters as
            select ?::date as as_of_month, ?::integer as as_of_idx,
                   ?::varchar as reporting_currency, ?::varchar as reactivation_policy,
                   ?::double as acv_smb_upper, ?::double as acv_enterprise_lower,
                   ?::integer as max_window
            """,
            [
                p.as_of,
                p.as_of_idx,
                p.reporting_currency,
                p.reactivation_policy,
                p.acv_smb_upper,
                p.acv_enterprise_lower,
                max(p.windows),
            ],
        )

    def build(self) -> BuildResult:
        """Run every model; raise (and leave the database as it was) if a check fails."""
        attributes = ledger_attributes(self.con)
        dimensions = resolve_dimensions(self.params.segment_dimensions, attributes)
        result = BuildResult(attributes=attributes, dimensions=dimensions)
        try:
            self._write_parameters()
            context = self._context(attributes, dimensions)
            # Temporary models first, outside any transaction: DuckDB builds large tables
            # far faster (and in far less memory) when not held in transaction-local storage.
            for layer, name in MODELS:
                if layer != "marts":
                    self._run_model(layer, name, context, result)
                    self._drop_consumed(name, context)
            # The tables users see change together or not at all.
            self.con.execute("begin transaction")
            try:
                existing = persistent_relations(self.con)
                for layer, name in MODELS:
                    if layer == "marts":
                        self._run_model(layer, name, context, result, existing)
                for name in MART_TABLES:
                    # (a view over facts has its facts' rows: every key is known, which the
                    # output gate's customer_cohorts suite checks)
                    counted = FACTS_OF_VIEWS.get(name, name)
                    if counted not in result.views:
                        result.row_counts[name] = self.con.execute(
                            f"select count(*) from {counted}"
                        ).fetchone()[0]
                self.con.execute("commit")
            except BaseException:
                self.con.execute("rollback")
                raise
        finally:
            self._drop_temporaries()
        return result

    def _drop_consumed(self, name: str, context: dict) -> None:
        """Free memory early: a large temporary goes once the last model reading it ran."""
        if name == "int_customer_month" and context["single_currency"]:
            # cohorts read the spell lines only to convert at the cohort month's rate
            self.con.execute("drop table if exists int_spell_lines")
        if name == "int_spell_lines":
            self.con.execute("drop table if exists stg_ledger__revenue_periods")

    def _run_model(
        self,
        layer: str,
        name: str,
        context: dict,
        result: BuildResult,
        existing: dict[str, str] | None = None,
    ) -> None:
        started = time.perf_counter()
        sql = self.render(layer, name, context)
        if self._materialise(layer, name, sql, existing) == "view" and layer == "marts":
            result.views[name] = sql
        result.timings[name] = time.perf_counter() - started
        if name == "int_fx_monthly":
            self._check_rates()
        if name == "int_segments":
            self._check_segment_count()
        if name == "mrr_bridge":
            self._check_bridge()

    def _materialise(self, layer: str, name: str, sql: str, existing: dict[str, str] | None) -> str:
        """Create the model as a table or (when its first line says `config: view`) a view."""
        first_line = sql.lstrip().splitlines()[0] if sql.strip() else ""
        kind = "view" if "config: view" in first_line else "table"
        try:
            create_relation(
                self.con, name, kind, sql, temporary=layer != "marts", existing=existing
            )
        except duckdb.Error as exc:
            raise RuntimeError(f"metric model {layer}/{name}.sql failed: {exc}") from exc
        return kind

    def _check_rates(self) -> None:
        missing = self.con.execute(
            """
            select currency, min(month_idx) from int_fx_monthly
            where rate is null group by currency order by currency
            """
        ).fetchall()
        if missing:
            names = ", ".join(code.upper() for code, _ in missing)
            raise FxRateError(
                f"no exchange rate to {self.params.reporting_currency.upper()} for {names}: "
                "add them to the rates file (NRR_FX_RATES) or the fx_rates setting"
            )

    def _check_segment_count(self) -> None:
        count = self.con.execute("select count(*) from int_segments").fetchone()[0]
        if count >= MAX_SEGMENT_COMBINATIONS:
            raise NrrError(
                f"the ledger's attribute columns form {count:,} distinct combinations (limit "
                f"{MAX_SEGMENT_COMBINATIONS:,}); name fewer segment attributes or drop "
                "identifier-like columns from the ledger"
            )

    def _check_bridge(self) -> None:
        """Fail on the worst difference; ties go to the earliest month, then the company
        before its segments, then by name: a total order, so the message is the same in
        every run (differences are rounded to the 6 decimals amounts carry)."""
        row = self.con.execute(
            f"""
            select month, dimension, segment, difference from mrr_bridge
            where abs(difference) >= {BRIDGE_TOLERANCE}
            order by round(abs(difference), 6) desc, month, dimension <> 'all', dimension,
                segment, difference
            limit 1
            """
        ).fetchone()
        if row:
            month, dimension, segment, difference = row
            where = "" if dimension == "all" else f" (segment {dimension}={segment})"
            raise BridgeError(
                f"the MRR bridge does not reconcile for {month:%Y-%m}{where}: opening + movements "
                f"differs from closing MRR by {difference:,.2f}"
            )

    def _drop_temporaries(self) -> None:
        kinds = dict(
            self.con.execute(
                "select table_name, 'table' from duckdb_tables() where temporary"
                " union all select view_name, 'view' from duckdb_views() where temporary"
            ).fetchall()
        )
        # views first: a temporary view may read a temporary table
        for layer, name in sorted(reversed(MODELS), key=lambda m: kinds.get(m[1]) != "view"):
            if layer != "marts" and name in kinds:
                self.con.execute(f"drop {kinds[name]} {name}")
        self.con.execute("drop table if exists run_parameters")


def build(con: duckdb.DuckDBPyConnection, params: EngineParams) -> BuildResult:
    """Build the warehouse tables from `raw_ledger` and `raw_fx_rates` already in `con`."""
    return Engine(con, params).build()

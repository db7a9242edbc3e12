"""Read a revenue ledger (CSV or Parquet), reject bad rows with file, row and reason.

The ledger is the product's universal input: Stripe is converted into it, and any other
billing system can export it. Validation runs in DuckDB over an Arrow table so that a
ledger of millions of rows is checked in seconds, and every problem is reported at once
instead of one per run.
"""

from __future__ import annotations

import csv
import gzip
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb

from nrr.currencies import ISO_4217_CODES
from nrr.errors import BadRow, LedgerError, first_line
from nrr.metrics.engine import KNOWN_LEDGER_COLUMNS

if TYPE_CHECKING:
    import pyarrow as pa

# pyarrow is imported where it is used: `nrr compute` on a Parquet ledger never needs it,
# and importing it is a third of the command's start-up.

REQUIRED_COLUMNS = ("customer_id", "start_date", "mrr")
KNOWN_COLUMNS = KNOWN_LEDGER_COLUMNS  # the rest are segment attributes
CHURN_KINDS = ("voluntary", "involuntary")
ROW_COLUMN = "_row"
# The largest monthly amount of one row: far above any real subscription, and small enough
# that sums, ACVs (x12) and FX conversions of millions of rows stay exact in the engine's
# decimals instead of overflowing mid-compute.
MAX_MRR = 10**9
MAX_MRR_TEXT = f"{MAX_MRR:,}"


@dataclass(frozen=True)
class LedgerRules:
    """What the user declared about the ledger (settings `ledger_segment_columns`,
    `ledger_allow_duplicate_rows`); the defaults are the data contract's."""

    segment_columns: tuple[str, ...] | None = None  # None: any column not a known one's typo
    allow_duplicate_rows: bool = False  # exact repeats double a customer's MRR

    @classmethod
    def from_settings(cls, settings: object) -> LedgerRules:
        declared = getattr(settings, "ledger_segment_columns", None)
        return cls(
            tuple(name.strip().lower() for name in declared) if declared is not None else None,
            bool(getattr(settings, "ledger_allow_duplicate_rows", False)),
        )


@dataclass(frozen=True)
class LedgerLoad:
    """What was loaded into the connection: the table name, its attributes, and rows skipped."""

    table: str
    source: str
    rows: int
    attribute_columns: tuple[str, ...]
    skipped_rows: tuple[BadRow, ...] = ()


def _check_file(path: Path) -> None:
    if not path.exists():
        raise LedgerError(f"ledger file not found: {path}")
    if path.is_dir():
        raise LedgerError(f"ledger path is a directory, expected a CSV or Parquet file: {path}")


def is_parquet(path: Path) -> bool:
    suffixes = "".join(path.suffixes).lower()
    return suffixes.endswith(".parquet") or suffixes.endswith(".pq")


def read_arrow(path: Path) -> pa.Table:
    """Read the file as it is; CSV columns stay strings so that validation sees the raw text."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    _check_file(path)
    suffixes = "".join(path.suffixes).lower()
    try:
        if suffixes.endswith(".parquet") or suffixes.endswith(".pq"):
            return pq.read_table(path)
        if any(suffixes.endswith(ext) for ext in (".csv", ".csv.gz", ".tsv", ".txt")):
            return _read_csv_as_strings(path, delimiter="\t" if ".tsv" in suffixes else ",")
    except (pa.ArrowInvalid, OSError, UnicodeDecodeError) as exc:
        kind = "Parquet" if "parquet" in suffixes or suffixes.endswith(".pq") else "CSV"
        raise LedgerError(f"cannot read ledger {path}: not a valid {kind} file ({exc})") from exc
    raise LedgerError(f"unsupported ledger format for {path}: use .csv, .csv.gz, .tsv or .parquet")


def _read_csv_as_strings(path: Path, delimiter: str) -> pa.Table:
    import pyarrow as pa
    import pyarrow.csv as pacsv

    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8-sig", newline="") as handle:
        header = next(csv.reader(handle, delimiter=delimiter), None)
    if not header:
        raise LedgerError(f"ledger {path} is empty: expected a header row")
    return pacsv.read_csv(
        path,
        read_options=pacsv.ReadOptions(encoding="utf8"),
        parse_options=pacsv.ParseOptions(delimiter=delimiter),
        convert_options=pacsv.ConvertOptions(
            column_types=dict.fromkeys(header, pa.string()),
            strings_can_be_null=True,
            quoted_strings_can_be_null=True,
        ),
    )


def _normalise_names(
    table: pa.Table, source: str, declared: tuple[str, ...] | None = None
) -> pa.Table:
    import numpy as np
    import pyarrow as pa

    table = table.rename_columns(_checked_names(table.column_names, source, declared))
    rows = pa.array(np.arange(1, table.num_rows + 1, dtype=np.int64))
    return table.append_column(ROW_COLUMN, rows)


# Names people give the ledger's columns, mapped to the column they mean (see `_near_miss`).
COLUMN_ALIASES = {
    "start": "start_date", "end": "end_date", "amount": "mrr", "monthly_revenue": "mrr",
    "cust_id": "customer_id", "customer": "customer_id", "currency_code": "currency",
    "ccy": "currency", "churn_type": "churn_kind",
}  # fmt: skip


def _near_miss(name: str, present: set[str]) -> str | None:
    """The known column an unknown `name` most likely misspells (`end date`, `curency`),
    when that column is absent; None when `name` is a plain segment attribute."""
    import difflib

    squashed = "".join(ch for ch in name if ch.isalnum())
    absent = [known for known in KNOWN_COLUMNS if known not in present]
    for known in absent:
        if squashed == known.replace("_", ""):
            return known
    alias = COLUMN_ALIASES.get(name) or COLUMN_ALIASES.get(squashed)
    if alias in absent:
        return alias
    close = difflib.get_close_matches(name, absent, n=1, cutoff=0.8)
    return close[0] if close else None


def _check_attributes(names: list[str], source: str, declared: tuple[str, ...] | None) -> None:
    """Columns beyond the known ones are segment attributes, never misspelt known columns;
    when segments are declared (`ledger_segment_columns`), only those."""
    present = set(names)
    for name in names:
        if name in KNOWN_COLUMNS or name == ROW_COLUMN:
            continue
        meant = _near_miss(name, present)
        if meant:
            raise LedgerError(
                f"ledger {source}: column `{name}`: did you mean `{meant}`? (rename it, or it "
                f"would be read as a segment attribute and `{meant}` would be ignored)"
            )
        if declared is not None and name not in declared:
            listed = ", ".join(declared) or "none"
            raise LedgerError(
                f"ledger {source}: column `{name}` is neither a ledger column nor a declared "
                f"segment (ledger_segment_columns: {listed})"
            )


def _checked_names(
    columns: list[str], source: str, declared: tuple[str, ...] | None = None
) -> list[str]:
    """The column names trimmed and lower-cased; a clear error for unusable headers."""
    names = [name.strip().lower() for name in columns]
    seen: set[str] = set()
    for name in names:
        if not name:
            raise LedgerError(f"ledger {source} has a column without a name")
        if name in seen:
            raise LedgerError(f"ledger {source} has the column {name!r} twice")
        if name.startswith("_"):
            raise LedgerError(f"ledger {source}: column names may not start with '_' ({name!r})")
        seen.add(name)
    _check_attributes(names, source, declared)
    missing = [col for col in REQUIRED_COLUMNS if col not in seen]
    if missing:
        raise LedgerError(
            f"ledger {source} lacks the required column(s) {', '.join(missing)}; "
            f"found {', '.join(names)}"
        )
    return names


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _text(column: str, present: set[str]) -> str:
    """SQL for a column as trimmed text, or NULL when the ledger does not have it."""
    if column not in present:
        return "null::varchar"
    return f"nullif(trim(cast({_quote(column)} as varchar)), '')"


def _as_date(expr: str) -> str:
    return f"coalesce(try_cast({expr} as date), try_cast(try_cast({expr} as timestamp) as date))"


def native_kinds(arrow_table: pa.Table) -> dict[str, str]:
    """Columns a typed file (Parquet) already stores as dates or numbers: parsed directly,
    without the round trip through text that CSV columns need."""
    import pyarrow as pa

    kinds: dict[str, str] = {}
    for field in arrow_table.schema:
        if pa.types.is_date(field.type) or pa.types.is_timestamp(field.type):
            kinds[field.name] = "date"
        elif (
            pa.types.is_integer(field.type)
            or pa.types.is_floating(field.type)
            or (pa.types.is_decimal(field.type))
        ):
            kinds[field.name] = "number"
    return kinds


# The parsed columns, the kind each holds and the name of its trimmed text.
PARSED_COLUMNS = {"start_date": ("date", "start_text"), "end_date": ("date", "end_text"),
                  "mrr": ("number", "mrr_text")}  # fmt: skip


def typed_natively(native: dict[str, str], present: set[str]) -> set[str]:
    """The parsed columns a typed file (Parquet) already stores as the kind they hold."""
    return {
        column
        for column, (kind, _) in PARSED_COLUMNS.items()
        if column in present and native.get(column) == kind
    }


def typed_rows_sql(
    relation: str,
    present: set[str],
    attributes: tuple[str, ...],
    native: dict[str, str] | None = None,
) -> str:
    """The ledger's parsing rules, once: raw text per column, then typed values.

    Columns: `_row`, the trimmed texts (`customer_id_text`, `start_text`, `end_text`,
    `mrr_text`, `currency_text`, `churn_kind_text`; see below for typed files), the
    attributes, and the parsed
    `start_date`, `end_date` (null when unparsable) and `mrr` (exact decimal). The loader
    and the data-quality gate (expectations/ledger_input.py) both read ledgers through it.
    `native` names columns stored as dates or numbers (see `native_kinds`): those stored as
    the kind they hold are typed directly and have no text column (`value_text` gives the
    text where a message needs it), which spares a cast of every row to text and back.
    """
    natively = typed_natively(native or {}, present)
    attribute_sql = "".join(
        f",\n                {_text(name, present)} as {_quote(name)}" for name in attributes
    )
    columns = "".join(
        f",\n                {_quote(column)} as _native_{column}"
        if column in natively
        else f",\n                {_text(column, present)} as {text}"
        for column, (_, text) in PARSED_COLUMNS.items()
    )

    def parsed(column: str) -> str:
        kind, text = PARSED_COLUMNS[column]
        if column in natively:
            if kind == "date":
                return f"cast(_native_{column} as date)"
            return f"try_cast(_native_{column} as decimal(18, 6))"
        return _as_date(text) if kind == "date" else f"try_cast({text} as decimal(18, 6))"

    return f"""
        with raw as (
            select
                {ROW_COLUMN},
                {_text("customer_id", present)} as customer_id_text{columns},
                lower({_text("currency", present)}) as currency_text,
                lower({_text("churn_kind", present)}) as churn_kind_text{attribute_sql}
            from {relation}
        )
        select
            *,
            {parsed("start_date")} as start_date,
            {parsed("end_date")} as end_date,
            {parsed("mrr")} as mrr
        from raw
    """


def value_text(column: str, natively: set[str]) -> str:
    """SQL for a parsed column's text as the file holds it (see `typed_rows_sql`)."""
    if column in natively:
        return f"cast(_native_{column} as varchar)"
    return PARSED_COLUMNS[column][1]


def value_missing(column: str, natively: set[str]) -> str:
    """SQL that is true where a parsed column is empty (see `typed_rows_sql`)."""
    if column in natively:
        return f"_native_{column} is null"
    return f"{PARSED_COLUMNS[column][1]} is null"


def normalised_arrow(path: Path, declared: tuple[str, ...] | None = None) -> pa.Table:
    """The file read, its column names normalised and a `_row` number added."""
    return _normalise_names(read_arrow(Path(path)), str(path), declared)


def attribute_columns(arrow_table: pa.Table) -> tuple[str, ...]:
    return _attributes(arrow_table.column_names)


def attribute_names(columns: list[str]) -> tuple[str, ...]:
    """The attribute (segment) columns among a ledger's normalised column names."""
    return _attributes(columns)


def _attributes(columns: list[str]) -> tuple[str, ...]:
    return tuple(c for c in columns if c not in KNOWN_COLUMNS and c != ROW_COLUMN)


def load_ledger(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    reporting_currency: str,
    *,
    skip_bad_rows: bool = False,
    table: str = "raw_ledger",
    max_reported: int = 50,
    rules: LedgerRules | None = None,
) -> LedgerLoad:
    """Validate the ledger at `path` and create `table` in `con` with typed, clean rows.

    Raises LedgerError listing every bad row (file, row number, reason) unless
    `skip_bad_rows` is set, in which case they are returned in `skipped_rows`.
    """
    path = Path(path)
    rules = rules or LedgerRules()
    if is_parquet(path):
        return _load_parquet(
            con, path, reporting_currency, skip_bad_rows, table, max_reported, rules
        )
    return load_ledger_arrow(
        con,
        read_arrow(path),
        source=str(path),
        reporting_currency=reporting_currency,
        skip_bad_rows=skip_bad_rows,
        table=table,
        max_reported=max_reported,
        rules=rules,
    )


DUCKDB_DATE_TYPES = ("DATE", "TIMESTAMP")
DUCKDB_NUMBER_TYPES = (
    *("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT"),
    *("UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT", "FLOAT", "DOUBLE", "DECIMAL"),
)


def _load_parquet(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    reporting_currency: str,
    skip_bad_rows: bool,
    table: str,
    max_reported: int,
    rules: LedgerRules,
) -> LedgerLoad:
    """A Parquet ledger read by DuckDB itself (in parallel, without a copy through Arrow);
    `_row` is the row's position in the file."""
    names, native = parquet_input(con, path, "_ledger_input", rules.segment_columns)
    try:
        return _load_registered(
            con, names, native, str(path), reporting_currency, skip_bad_rows, table, max_reported,
            rules,
        )  # fmt: skip
    except duckdb.Error as exc:
        raise LedgerError(
            f"cannot read ledger {path}: not a valid Parquet file ({first_line(exc)})"
        ) from exc
    finally:
        con.execute("drop view if exists _ledger_input")


def parquet_input(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    view: str,
    declared: tuple[str, ...] | None = None,
) -> tuple[list[str], dict[str, str]]:
    """Define the temp view `view` over a Parquet ledger read by DuckDB itself: normalised
    column names and `_row`, the row's position in the file (`declared`: the segment
    columns the settings name). Returns (names, native kinds)."""
    _check_file(path)
    escaped = str(path).replace("'", "''")
    try:
        described = con.execute(f"describe select * from read_parquet('{escaped}')").fetchall()
    except duckdb.Error as exc:
        raise LedgerError(
            f"cannot read ledger {path}: not a valid Parquet file ({first_line(exc)})"
        ) from exc
    names = _checked_names([row[0] for row in described], str(path), declared)
    pairs = list(zip(described, names, strict=True))
    columns = ", ".join(f"{_quote(row[0])} as {_quote(name)}" for row, name in pairs)
    native = {
        name: "date" if row[1].startswith(DUCKDB_DATE_TYPES) else "number"
        for row, name in pairs
        if row[1].startswith(DUCKDB_DATE_TYPES + DUCKDB_NUMBER_TYPES)
    }
    con.execute(
        f"""create or replace temp view {view} as
            select {columns}, file_row_number + 1 as {ROW_COLUMN}
            from read_parquet('{escaped}', file_row_number = true)"""
    )
    return names, native


def load_ledger_arrow(
    con: duckdb.DuckDBPyConnection,
    arrow_table: pa.Table,
    *,
    source: str,
    reporting_currency: str,
    skip_bad_rows: bool = False,
    table: str = "raw_ledger",
    max_reported: int = 50,
    rules: LedgerRules | None = None,
) -> LedgerLoad:
    """Same as `load_ledger` for a ledger already in memory (e.g. derived from Stripe)."""
    rules = rules or LedgerRules()
    arrow_table = _normalise_names(arrow_table, source, rules.segment_columns)
    con.register("_ledger_input", arrow_table)
    try:
        return _load_registered(
            con,
            arrow_table.column_names,
            native_kinds(arrow_table),
            source,
            reporting_currency,
            skip_bad_rows,
            table,
            max_reported,
            rules,
        )
    finally:
        con.unregister("_ledger_input")


def _load_registered(
    con: duckdb.DuckDBPyConnection,
    columns: list[str],
    native: dict[str, str],
    source: str,
    reporting_currency: str,
    skip_bad_rows: bool,
    table: str,
    max_reported: int,
    rules: LedgerRules | None = None,
) -> LedgerLoad:
    """Check every row of `_ledger_input` (`columns`, normalised, and `_row`) and keep the
    good ones in `table`, in one pass.

    `table` keeps a `_problem` column (null on every row kept); the engine ignores columns
    starting with an underscore.
    """
    present = set(columns)
    attributes = _attributes(columns)
    codes = ", ".join(f"'{code}'" for code in sorted(ISO_4217_CODES))
    kinds = ", ".join(f"'{kind}'" for kind in CHURN_KINDS)
    attribute_select = "".join(f", {_quote(name)}" for name in attributes)
    natively = typed_natively(native, present)

    def text(column: str) -> str:
        return value_text(column, natively)

    def missing(column: str) -> str:
        return value_missing(column, natively)

    # the amount as a float, to tell NaN, infinities and too large numbers from text
    mrr_double = (
        "try_cast(_native_mrr as double)" if "mrr" in natively else "try_cast(mrr_text as double)"
    )

    con.execute(
        f"""
        create or replace temp table {table} as
        with typed as ({typed_rows_sql("_ledger_input", present, attributes, native)})
        select
            customer_id_text as customer_id,
            start_date,
            end_date,
            mrr,
            coalesce(currency_text, '{reporting_currency}') as currency,
            churn_kind_text as churn_kind{attribute_select},
            {ROW_COLUMN},
            case
                when customer_id_text is null then 'customer_id is missing'
                when {missing("start_date")} then 'start_date is missing'
                when start_date is null
                    then 'start_date ' || {text("start_date")} || ' is not a date'
                when not {missing("end_date")} and end_date is null
                    then 'end_date ' || {text("end_date")} || ' is not a date'
                when {missing("mrr")} then 'mrr is missing'
                when isnan({mrr_double}) then 'mrr ' || {text("mrr")} || ' is not a number'
                when isinf({mrr_double})
                    then 'mrr ' || {text("mrr")} || ' is not a finite amount'
                when mrr is null and {mrr_double} is null
                    then 'mrr ' || {text("mrr")} || ' is not a number'
                when mrr is null or abs(mrr) >= {MAX_MRR}
                    then 'mrr ' || {text("mrr")} || ' is too large (at most {MAX_MRR_TEXT} a month)'
                when mrr < 0 then 'mrr ' || {text("mrr")} || ' is negative'
                when end_date is not null and end_date < start_date
                    then 'end_date ' || {text("end_date")} || ' is before start_date '
                        || {text("start_date")}
                when currency_text is not null and currency_text not in ({codes})
                    then 'currency ' || currency_text || ' is not an ISO 4217 code'
                when churn_kind_text is not null and churn_kind_text not in ({kinds})
                    then 'churn_kind ' || churn_kind_text || ' is not voluntary or involuntary'
            end as _problem
        from typed
        """
    )
    # (fetchall: a result left unfinished would block unregistering the input)
    total_bad = con.execute(f"select count(*) from {table} where _problem is not null").fetchall()[
        0
    ][0]
    if not total_bad:
        _refuse_duplicates(con, table, source, attributes, rules, max_reported)
        return _loaded(con, table, source, attributes)
    bad_rows = [
        BadRow(source, row, reason)
        for row, reason in con.execute(
            f"""select {ROW_COLUMN}, _problem from {table}
                where _problem is not null order by {ROW_COLUMN} limit {int(max_reported)}"""
        ).fetchall()
    ]
    if not skip_bad_rows:
        con.execute(f"drop table {table}")
        raise LedgerError(
            f"ledger {source} has {total_bad} bad row(s); nothing was written "
            f"(first: {bad_rows[0]})",
            bad_rows=bad_rows,
            total_bad=total_bad,
        )
    con.execute(f"delete from {table} where _problem is not null")
    _refuse_duplicates(con, table, source, attributes, rules, max_reported)
    return _loaded(con, table, source, attributes, tuple(bad_rows))


def _refuse_duplicates(
    con: duckdb.DuckDBPyConnection,
    table: str,
    source: str,
    attributes: tuple[str, ...],
    rules: LedgerRules | None,
    max_reported: int,
) -> None:
    """Exact repeats of a row would double a customer's MRR: an error naming both rows,
    unless the user declared them intended (`ledger_allow_duplicate_rows`)."""
    if rules is not None and rules.allow_duplicate_rows:
        return
    values = ", ".join(_quote(c) for c in (*KNOWN_COLUMNS, *attributes))
    # a cheap screen first (one hash aggregate): most ledgers have no repeat at all
    screened = con.execute(
        f"select count(*) from (select hash({values}) as h from {table} "
        "group by h having count(*) > 1)"
    ).fetchall()[0][0]
    if not screened:
        return
    repeats = con.execute(
        f"""select {ROW_COLUMN}, first_row, count(*) over () from (
                select {ROW_COLUMN}, min({ROW_COLUMN}) over (partition by {values}) as first_row
                from {table})
            where {ROW_COLUMN} <> first_row order by {ROW_COLUMN} limit {int(max_reported)}"""
    ).fetchall()
    if not repeats:
        return
    con.execute(f"drop table {table}")
    bad_rows = [BadRow(source, row, f"repeats row {first} exactly") for row, first, _ in repeats]
    raise LedgerError(
        f"ledger {source} has {repeats[0][2]} exact duplicate row(s); nothing was written "
        f"(first: {bad_rows[0]}; set ledger_allow_duplicate_rows = true if they are meant)",
        bad_rows=bad_rows,
        total_bad=repeats[0][2],
    )


def _loaded(
    con: duckdb.DuckDBPyConnection,
    table: str,
    source: str,
    attributes: tuple[str, ...],
    skipped_rows: tuple[BadRow, ...] = (),
) -> LedgerLoad:
    rows = con.execute(f"select count(*) from {table}").fetchall()[0][0]
    return LedgerLoad(
        table=table,
        source=source,
        rows=rows,
        attribute_columns=attributes,
        skipped_rows=skipped_rows,
    )

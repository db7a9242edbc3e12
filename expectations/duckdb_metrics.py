"""The metrics a suite's column and table expectations are judged on, computed by DuckDB
where the data is: one aggregate pass over the dataset for all of them, then a small query
for a few offending rows of each check that failed.

No pandas and no Great Expectations here: gx_runner hands these figures to GX's own
expectations, which decide success and format the results (as GX's SQL engine would, but
in one scan instead of one query per metric). Values are read as GX's pandas engine saw
them: NaN counts as missing, timestamps are naive UTC, dates are timestamps, decimals are
doubles.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import duckdb

from nrr.expectations.catalog import ExpectationSpec

FLOATS = ("DOUBLE", "FLOAT", "REAL")
SET_EXPECTATIONS = (
    "expect_column_values_to_be_in_set",
    "expect_column_values_to_not_be_in_set",
)
EXACT_NUMBERS = ("HUGEINT", "UBIGINT", "UHUGEINT")


@dataclass
class Measured:
    """What DuckDB found for one expectation (None: the figure does not apply)."""

    missing: int | None = None  # rows whose column is null (or NaN)
    unexpected: int | None = None  # rows that break the rule, among those it applies to
    considered: int | None = None  # pair checks: rows left after `ignore_row_if`
    value: Any = None  # aggregate checks: the column's max, min or sum
    values: list[Any] = field(default_factory=list)  # offending values (a few)
    rows: list[dict[str, Any]] = field(default_factory=list)  # offending rows (a few)


@dataclass
class Check:
    """An expectation as SQL over the dataset's columns."""

    spec: ExpectationSpec
    missing: str | None = None  # predicate: the value is missing
    unexpected: str | None = None  # predicate: the row breaks the rule
    considered: str | None = None  # predicate: the row is compared at all (pairs)
    aggregate: str | None = None  # expression: max / min / sum
    shown: tuple[str, ...] = ()  # columns whose values an offending row shows
    join: str = ""  # set checks: the set as a table joined on the value (a hash probe per
    # row instead of comparing with every member: 20M rows against the ISO currencies took
    # 20 s as `in (...)`, 0.6 s as a join)


def measure(
    con: duckdb.DuckDBPyConnection,
    relation: str,
    specs: list[ExpectationSpec],
    types: dict[str, str],
    index_columns: list[str],
    examples: int,
) -> tuple[int, list[Measured]]:
    """(row count, one Measured per spec): one pass for every figure, then examples."""
    checks = [as_sql(spec, types, f"set_{n}") for n, spec in enumerate(specs)]
    expressions: dict[str, int] = {"count(*)": 0}  # the same predicate is counted once
    for check in checks:
        for predicate in (check.missing, check.unexpected, check.considered):
            if predicate is not None:
                expressions.setdefault(f"count(*) filter (where {predicate})", len(expressions))
        if check.aggregate is not None:
            expressions.setdefault(check.aggregate, len(expressions))
    joins = "".join(check.join for check in checks)
    row = con.execute(f"select {', '.join(expressions)} from {relation}{joins}").fetchone()
    assert row is not None
    measured = []
    for check in checks:
        found = Measured()
        if check.missing is not None:
            found.missing = row[expressions[f"count(*) filter (where {check.missing})"]]
        if check.unexpected is not None:
            found.unexpected = row[expressions[f"count(*) filter (where {check.unexpected})"]]
        if check.considered is not None:
            found.considered = row[expressions[f"count(*) filter (where {check.considered})"]]
        if check.aggregate is not None:
            found.value = row[expressions[check.aggregate]]
        if found.unexpected:
            found.values, found.rows = _offending(
                con, relation, check, types, index_columns, examples
            )
        measured.append(found)
    return row[0], measured


def as_sql(spec: ExpectationSpec, types: dict[str, str], alias: str = "value_set") -> Check:
    """The expectation's predicates, with the semantics of GX's pandas engine (`alias`
    names the joined set of a set check)."""
    kind, kwargs = spec.type, spec.kwargs
    check = Check(spec)
    if "column" in kwargs and kind != "expect_column_to_exist":
        column = kwargs["column"]
        value, missing = _value(column, types[column]), _missing(column, types[column])
        check.shown = (column,)
        if kind == "expect_column_values_to_not_be_null":
            check.unexpected = missing
        elif kind == "expect_column_values_to_be_null":
            check.unexpected = f"not ({missing})"
        elif kind == "expect_column_max_to_be_between":
            check.aggregate = f"max({value}) filter (where not ({missing}))"
        elif kind == "expect_column_min_to_be_between":
            check.aggregate = f"min({value}) filter (where not ({missing}))"
        elif kind == "expect_column_sum_to_be_between":
            check.aggregate = f"coalesce(sum({value}) filter (where not ({missing})), 0)"
        elif kind in SET_EXPECTATIONS and kwargs["value_set"]:
            members = ", ".join(literal(v) for v in kwargs["value_set"])
            check.join = (
                f" left join (select distinct unnest([{members}]) as member) as {alias}"
                f" on {value} = {alias}.member"
            )
            found = "is not" if kind.endswith("not_be_in_set") else "is"
            check.missing = missing
            check.unexpected = f"not ({missing}) and {alias}.member {found} null"
        else:
            check.missing = missing
            rule = _rule(kind, kwargs, value)
            check.unexpected = f"not ({missing}) and not coalesce({rule}, false)"
    elif "column_A" in kwargs:
        a, b = kwargs["column_A"], kwargs["column_B"]
        missing_a, missing_b = _missing(a, types[a]), _missing(b, types[b])
        ignore = kwargs.get("ignore_row_if", "both_values_are_missing")
        check.considered = {
            "both_values_are_missing": f"not (({missing_a}) and ({missing_b}))",
            "either_value_is_missing": f"not (({missing_a}) or ({missing_b}))",
        }.get(ignore, "true")
        operator = ">=" if kwargs.get("or_equal") else ">"
        rule = f"{_value(a, types[a])} {operator} {_value(b, types[b])}"
        check.unexpected = f"({check.considered}) and not coalesce({rule}, false)"
        check.shown = (a, b)
    return check


def _rule(kind: str, kwargs: dict[str, Any], value: str) -> str:
    """What a present value must satisfy."""
    if kind in ("expect_column_values_to_be_between", "expect_column_value_lengths_to_be_between"):
        subject = f"length({value})" if "lengths" in kind else value
        parts = []
        if kwargs.get("min_value") is not None:
            operator = ">" if kwargs.get("strict_min") else ">="
            parts.append(f"{subject} {operator} {literal(kwargs['min_value'])}")
        if kwargs.get("max_value") is not None:
            operator = "<" if kwargs.get("strict_max") else "<="
            parts.append(f"{subject} {operator} {literal(kwargs['max_value'])}")
        return " and ".join(parts) or "true"
    if kind in SET_EXPECTATIONS:  # (an empty set: nothing is in it)
        return "false" if kind == SET_EXPECTATIONS[0] else "true"
    if kind == "expect_column_values_to_match_regex":
        return f"regexp_matches({value}, {literal(kwargs['regex'])})"
    raise ValueError(f"{kind} has no SQL form")


def _offending(
    con: duckdb.DuckDBPyConnection,
    relation: str,
    check: Check,
    types: dict[str, str],
    index_columns: list[str],
    examples: int,
) -> tuple[list[Any], list[dict[str, Any]]]:
    """A few offending rows (by their index columns when the dataset has them)."""
    names = list(dict.fromkeys([*check.shown, *index_columns]))
    select = ", ".join(f"{_value(n, types[n])} as {quote(n)}" for n in names)
    order = f" order by {', '.join(quote(n) for n in index_columns)}" if index_columns else ""
    cursor = con.execute(
        f"select {select} from {relation}{check.join} where {check.unexpected}{order}"
        f" limit {examples}"
    )
    rows = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    if len(check.shown) == 1:
        values = [row[check.shown[0]] for row in rows]
    else:
        values = [tuple(row[n] for n in check.shown) for row in rows]
    return values, rows


def _value(name: str, kind: str) -> str:
    """The column as GX's pandas batches held it (naive UTC timestamps, floats)."""
    q = quote(name)
    if kind.startswith("TIMESTAMP WITH TIME ZONE") or kind == "TIMESTAMPTZ":
        return f"timezone('UTC', {q})"
    if kind.startswith("TIMESTAMP") or kind == "DATE":
        return f"cast({q} as timestamp)"
    if kind.startswith("DECIMAL") or kind in EXACT_NUMBERS:
        return f"cast({q} as double)"
    return q


def _missing(name: str, kind: str) -> str:
    q = quote(name)
    return f"({q} is null or isnan({q}))" if kind in FLOATS else f"{q} is null"


def literal(value: Any) -> str:
    """A suite parameter as a SQL literal (timestamps compare with the columns above)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, dt.datetime):
        return f"timestamp '{value.replace(tzinfo=None).isoformat(sep=' ')}'"
    if isinstance(value, dt.date):
        return f"timestamp '{value.isoformat()}'"
    return "'" + str(value).replace("'", "''") + "'"


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'

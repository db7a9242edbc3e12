"""Merge one expectation's GX results over the batches of a dataset into one exact result.

Datasets are validated batch by batch (DuckDB streams Arrow record batches; GX validates each
as a pandas DataFrame), so a table of any size is checked in bounded memory. Only
expectations whose result is exactly recoverable from per-batch results are allowed
(catalog.SUPPORTED_EXPECTATIONS): counts add up, maxima take the max, and so on.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from nrr.expectations.catalog import AGGREGATE_EXPECTATIONS, MAP_EXPECTATIONS


def merge_results(kind: str, kwargs: dict[str, Any], parts: list[Any], examples: int) -> Any:
    """One ExpectationValidationResult from the per-batch results `parts` (same expectation)."""
    from great_expectations.core.expectation_validation_result import (
        ExpectationValidationResult,
    )

    first = parts[0]
    failed_with_error = [p for p in parts if p.exception_info.get("raised_exception")]
    if failed_with_error:
        return failed_with_error[0]
    if len(parts) == 1:
        return first
    if kind in MAP_EXPECTATIONS:
        success, result = _merge_map(kwargs, [p.result for p in parts], examples)
    elif kind in AGGREGATE_EXPECTATIONS:
        success, result = _merge_aggregate(kind, kwargs, [p.result for p in parts])
    else:  # schema checks: the same schema in every batch
        failing = [p for p in parts if not p.success]
        return failing[0] if failing else first
    return ExpectationValidationResult(
        success=success,
        expectation_config=first.expectation_config,
        result=result,
        exception_info=first.exception_info,
    )


def exception_message(result: Any) -> str | None:
    """The error GX caught while evaluating the expectation, if any."""
    info = result.exception_info or {}
    if "raised_exception" in info:
        return info.get("exception_message") if info.get("raised_exception") else None
    for value in info.values():  # keyed by metric id when a metric failed
        if isinstance(value, dict) and value.get("raised_exception"):
            return value.get("exception_message")
    return None


def _merge_map(
    kwargs: dict[str, Any], results: list[dict[str, Any]], examples: int
) -> tuple[bool, dict[str, Any]]:
    elements = sum(r.get("element_count", 0) for r in results)
    unexpected = sum(r.get("unexpected_count", 0) for r in results)
    missing = sum(r.get("missing_count", 0) or 0 for r in results)
    nonmissing = elements - missing
    counts: Counter = Counter()
    for r in results:
        for item in r.get("partial_unexpected_counts", []):
            counts[_hashable(item["value"])] += item["count"]
    merged: dict[str, Any] = {
        "element_count": elements,
        "unexpected_count": unexpected,
        "unexpected_percent": _percent(unexpected, nonmissing),
        "partial_unexpected_list": _concat(r.get("partial_unexpected_list") for r in results)[
            :examples
        ],
        "missing_count": missing,
        "missing_percent": _percent(missing, elements),
        "unexpected_percent_total": _percent(unexpected, elements),
        "unexpected_percent_nonmissing": _percent(unexpected, nonmissing),
        "partial_unexpected_counts": [
            {"value": value, "count": count} for value, count in counts.most_common(examples)
        ],
    }
    index_lists = [
        r["partial_unexpected_index_list"]
        for r in results
        if r.get("partial_unexpected_index_list")
    ]
    if index_lists:
        merged["partial_unexpected_index_list"] = _concat(index_lists)[:examples]
    for key in ("unexpected_index_column_names",):
        if key in results[0]:
            merged[key] = results[0][key]
    if "missing_count" not in results[0]:  # pair expectations report no missing values
        for key in ("missing_count", "missing_percent", "unexpected_percent_nonmissing"):
            merged.pop(key)
    mostly = kwargs.get("mostly", 1.0)
    success = nonmissing == 0 or (nonmissing - unexpected) / nonmissing >= mostly
    if mostly >= 1.0:
        success = unexpected == 0
    return success, merged


def _merge_aggregate(
    kind: str, kwargs: dict[str, Any], results: list[dict[str, Any]]
) -> tuple[bool, dict[str, Any]]:
    observed = [r.get("observed_value") for r in results]
    if kind.startswith("expect_table_row_count"):
        value = sum(int(v) for v in observed)
    elif kind == "expect_column_sum_to_be_between":
        value = sum(v for v in observed if v is not None)
    elif kind == "expect_column_max_to_be_between":
        present = [v for v in observed if v is not None]
        value = max(present) if present else None
    else:  # expect_column_min_to_be_between
        present = [v for v in observed if v is not None]
        value = min(present) if present else None
    if kind == "expect_table_row_count_to_equal":
        success = value == kwargs["value"]
    else:
        success = value is not None and _between(value, kwargs)
    return success, {"observed_value": value}


def _between(value: Any, kwargs: dict[str, Any]) -> bool:
    low, high = kwargs.get("min_value"), kwargs.get("max_value")
    if low is not None and (value <= low if kwargs.get("strict_min") else value < low):
        return False
    return not (high is not None and (value >= high if kwargs.get("strict_max") else value > high))


def _percent(part: int, whole: int) -> float | None:
    return None if whole == 0 else 100.0 * part / whole


def _concat(lists) -> list[Any]:
    out: list[Any] = []
    for items in lists:
        out.extend(items or [])
    return out


def _hashable(value: Any) -> Any:
    try:
        hash(value)
    except TypeError:
        return str(value)
    return value

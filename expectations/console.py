"""Validation reports as rich tables for the terminal (`nrr validate`)."""

from __future__ import annotations

from collections import defaultdict

from rich.console import Group
from rich.table import Table
from rich.text import Text

from nrr.expectations.report import ExpectationOutcome, Severity, ValidationReport, _short

STYLE = {Severity.CRITICAL: "bold red", Severity.WARNING: "yellow", Severity.INFO: "dim"}


def render_report(report: ValidationReport, *, show_all: bool = False) -> Group:
    """Per-dataset totals, then every failed check (or every check) with examples."""
    parts: list = [_datasets(report)]
    shown = report.results if show_all else report.failures
    if shown:
        parts.append(_checks(report, shown))
    parts.extend(Text(f"note: {note}", style="dim") for note in report.notes)
    parts.append(_verdict(report))
    return Group(*parts)


def _datasets(report: ValidationReport) -> Table:
    table = Table(
        title=f"Validation of {report.phase}, {report.as_of:%Y-%m} ({report.run_id})",
        title_justify="left",
    )
    for column, justify in (
        ("dataset", "left"),
        ("rows", "right"),
        ("checks", "right"),
        ("passed", "right"),
        ("warnings", "right"),
        ("critical", "right"),
    ):
        table.add_column(column, justify=justify)
    grouped: dict[str, list[ExpectationOutcome]] = defaultdict(list)
    for outcome in report.results:
        grouped[outcome.dataset].append(outcome)
    for dataset, outcomes in grouped.items():
        critical = sum(o.failed and o.severity is Severity.CRITICAL for o in outcomes)
        warnings = sum(o.failed and o.severity is Severity.WARNING for o in outcomes)
        rows = report.row_counts.get(dataset)
        table.add_row(
            dataset,
            f"{rows:,}" if rows is not None else "",
            str(len(outcomes)),
            str(sum(o.success for o in outcomes)),
            Text(str(warnings), style="yellow" if warnings else ""),
            Text(str(critical), style="bold red" if critical else ""),
        )
    return table


def _checks(report: ValidationReport, outcomes: list[ExpectationOutcome]) -> Table:
    table = Table(title="Checks", title_justify="left", show_lines=False)
    for column in ("status", "severity", "dataset", "check", "found", "examples"):
        table.add_column(column, overflow="fold")
    for outcome in outcomes:
        status = Text("ok", style="green") if outcome.success else Text("FAIL", style="bold")
        table.add_row(
            status,
            Text(outcome.severity.value, style=STYLE[outcome.severity] if outcome.failed else ""),
            outcome.dataset,
            outcome.description,
            _found(outcome),
            "\n".join(_example(e) for e in outcome.examples[:3]),
        )
    return table


def _found(outcome: ExpectationOutcome) -> str:
    if outcome.error:
        return f"error: {outcome.error}"
    if outcome.unexpected_count is not None:
        return f"{outcome.unexpected_count:,} row(s)" if outcome.unexpected_count else ""
    if outcome.observed_value is not None:
        value = outcome.observed_value
        return f"{value:,.2f}" if isinstance(value, float) else _short(value)
    return ""


def _example(example: dict) -> str:
    return ", ".join(f"{key}={_short(value, 30)}" for key, value in example.items())


def _verdict(report: ValidationReport) -> Text:
    failed_critical, failed_warning = len(report.blocking), len(report.warnings)
    where = f"Data Docs: {report.data_docs_path}" if report.data_docs_path else ""
    if failed_critical:
        return Text(
            f"FAILED: {failed_critical} critical check(s) failed; a close would stop here. {where}",
            style="bold red",
        )
    if failed_warning:
        return Text(
            f"passed with {failed_warning} warning(s). {where}",
            style="yellow",
        )
    return Text(f"passed: all {len(report.results)} checks hold. {where}", style="green")

"""What a validation run found, in plain Python (no Great Expectations import).

The flows, the CLI and Slack read these objects; they are cheap to import and serialise to
JSON. Gates act on the highest failed severity, never on GX's overall `success` flag (a
warning-only failure sets that to False too).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import Any


class Severity(StrEnum):
    """How bad a failed expectation is. Critical: the close's numbers would be wrong."""

    CRITICAL = "critical"
    WARNING = "warning"
    INFO = "info"

    @property
    def rank(self) -> int:
        return {"info": 0, "warning": 1, "critical": 2}[self.value]


@dataclass
class ExpectationOutcome:
    """One expectation's result over a whole dataset."""

    suite: str
    dataset: str
    expectation: str  # GX expectation type, e.g. expect_column_values_to_not_be_null
    description: str  # one sentence saying what must hold
    severity: Severity
    success: bool
    column: str | None = None
    unexpected_count: int | None = None  # offending rows (or values)
    element_count: int | None = None  # rows looked at
    observed_value: Any = None  # for aggregate expectations (row counts, sums, maxima)
    examples: list[dict[str, Any]] = field(default_factory=list)  # a few offending rows
    audit: str | None = None  # name of the SQL audit, when the check ran in DuckDB
    error: str | None = None  # the expectation could not be evaluated

    @property
    def failed(self) -> bool:
        return not self.success

    def headline(self) -> str:
        """'invoice_lines: line ids are unique (critical): 3 offending rows'."""
        if self.success:
            return f"{self.dataset}: {self.description} ({self.severity.value}): ok"
        if self.error:
            detail = f"could not be evaluated: {self.error}"
        elif self.unexpected_count is not None:
            detail = f"{self.unexpected_count:,} offending row(s)"
        else:
            detail = f"observed {_short(self.observed_value)}"
        return f"{self.dataset}: {self.description} ({self.severity.value}): {detail}"

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["severity"] = self.severity.value
        data["observed_value"] = _jsonable(self.observed_value)
        data["examples"] = [_jsonable(example) for example in self.examples]
        return data


@dataclass
class CloseStats:
    """What a published close remembers for the next close's volume checks."""

    period: date
    row_counts: dict[str, int]
    total_mrr: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "period": self.period.isoformat(),
            "row_counts": dict(self.row_counts),
            "total_mrr": self.total_mrr,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CloseStats:
        return cls(
            period=date.fromisoformat(str(data["period"])),
            row_counts={str(k): int(v) for k, v in dict(data.get("row_counts") or {}).items()},
            total_mrr=None if data.get("total_mrr") is None else float(data["total_mrr"]),
        )


@dataclass
class ValidationReport:
    """All outcomes of one validation run (inputs or outputs of one close)."""

    phase: str  # "inputs" or "outputs"
    as_of: date
    run_id: str
    results: list[ExpectationOutcome]
    row_counts: dict[str, int] = field(default_factory=dict)  # rows validated per dataset
    total_mrr: float | None = None  # closing MRR at `as_of` (outputs only)
    run_dir: Path | None = None
    data_docs_path: Path | None = None  # index.html of the Data Docs of this run
    notes: list[str] = field(default_factory=list)  # checks skipped and why
    seconds: float = 0.0

    @property
    def blocking(self) -> list[ExpectationOutcome]:
        """Critical failures: the close must stop."""
        return [r for r in self.results if r.failed and r.severity is Severity.CRITICAL]

    @property
    def warnings(self) -> list[ExpectationOutcome]:
        """Warning failures: the close proceeds and lists them in its summary."""
        return [r for r in self.results if r.failed and r.severity is Severity.WARNING]

    @property
    def failures(self) -> list[ExpectationOutcome]:
        return sorted((r for r in self.results if r.failed), key=lambda r: -r.severity.rank)

    @property
    def passed(self) -> bool:
        """True when nothing critical failed (warnings and info do not block)."""
        return not self.blocking

    @property
    def highest_failed_severity(self) -> Severity | None:
        failed = [r.severity for r in self.results if r.failed]
        return max(failed, key=lambda s: s.rank) if failed else None

    def stats(self, *others: ValidationReport) -> CloseStats:
        """The figures the next close compares its volumes with (merge inputs and outputs)."""
        row_counts: dict[str, int] = {}
        total_mrr = self.total_mrr
        for report in (self, *others):
            row_counts.update(report.row_counts)
            if report.total_mrr is not None:
                total_mrr = report.total_mrr
        return CloseStats(period=self.as_of, row_counts=row_counts, total_mrr=total_mrr)

    def summary_markdown(self, max_examples: int = 3) -> str:
        """Short Markdown for Slack / the close summary: failures first, with examples."""
        checks = len(self.results)
        failed = self.failures
        status = "passed" if self.passed else "FAILED"
        lines = [
            f"*Data validation ({self.phase}, {self.as_of:%Y-%m}) {status}*: "
            f"{checks - len(failed)}/{checks} checks passed"
            + (f", {len(self.blocking)} critical" if self.blocking else "")
            + (f", {len(self.warnings)} warning(s)" if self.warnings else "")
        ]
        for outcome in failed:
            lines.append(f"• {outcome.headline()}")
            for example in outcome.examples[:max_examples]:
                lines.append(f"    ◦ `{_example_text(example)}`")
        lines.extend(f"_{note}_" for note in self.notes)
        if self.data_docs_path is not None:
            lines.append(f"Data Docs: {self.data_docs_path}")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        highest = self.highest_failed_severity
        return {
            "phase": self.phase,
            "as_of": self.as_of.isoformat(),
            "run_id": self.run_id,
            "passed": self.passed,
            "highest_failed_severity": highest.value if highest else None,
            "checks": len(self.results),
            "failed": len(self.failures),
            "critical_failures": len(self.blocking),
            "warning_failures": len(self.warnings),
            "row_counts": dict(self.row_counts),
            "total_mrr": self.total_mrr,
            "seconds": round(self.seconds, 3),
            "data_docs_path": str(self.data_docs_path) if self.data_docs_path else None,
            "notes": list(self.notes),
            "results": [r.to_dict() for r in self.results],
        }

    def write_summary(self, path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.to_dict(), indent=2, default=str) + "\n")
        tmp.replace(path)
        return path


def example_text(example: dict[str, Any]) -> str:
    """An offending row as plain `key=value` text (numbers as numbers, not numpy reprs)."""
    return _example_text(example)


def plain(value: Any) -> Any:
    """A value as plain JSON-able Python (numpy scalars and dates unwrapped)."""
    return _jsonable(value)


def _example_text(example: dict[str, Any]) -> str:
    return ", ".join(f"{key}={_short(value)}" for key, value in example.items())


def _short(value: Any, limit: int = 60) -> str:
    text = str(_jsonable(value))
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _jsonable(value: Any) -> Any:
    """Dates, numpy scalars and Timestamps as plain JSON values."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if value == value else None  # NaN -> null
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if hasattr(value, "item"):  # numpy scalar
        return _jsonable(value.item())
    return str(value)

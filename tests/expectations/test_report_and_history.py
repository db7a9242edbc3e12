"""Report semantics (gate on the highest failed severity) and the previous-close baseline,
without running Great Expectations."""

from __future__ import annotations

import json
from datetime import date

from nrr.expectations.history import latest_close_stats
from nrr.expectations.report import CloseStats, ExpectationOutcome, Severity, ValidationReport


def outcome(severity: Severity, success: bool) -> ExpectationOutcome:
    return ExpectationOutcome(
        suite="s", dataset="d", expectation="expect_x", description=f"{severity.value} check",
        severity=severity, success=success, unexpected_count=0 if success else 2,
        examples=[] if success else [{"id": "x1"}],
    )  # fmt: skip


def report(*outcomes: ExpectationOutcome, **kwargs) -> ValidationReport:
    return ValidationReport(phase="inputs", as_of=date(2025, 6, 1), run_id="r",
                            results=list(outcomes), **kwargs)  # fmt: skip


def test_warning_failures_do_not_block_but_are_listed():
    r = report(outcome(Severity.CRITICAL, True), outcome(Severity.WARNING, False),
               outcome(Severity.INFO, False))  # fmt: skip
    assert r.passed and r.blocking == []
    assert r.highest_failed_severity is Severity.WARNING
    assert [o.description for o in r.warnings] == ["warning check"]
    assert "warning check (warning): 2 offending row(s)" in r.summary_markdown()


def test_a_critical_failure_blocks():
    r = report(outcome(Severity.WARNING, False), outcome(Severity.CRITICAL, False))
    assert not r.passed and r.highest_failed_severity is Severity.CRITICAL
    assert [o.severity for o in r.failures] == [Severity.CRITICAL, Severity.WARNING]
    assert r.to_dict()["critical_failures"] == 1


def test_stats_merge_inputs_and_outputs():
    inputs = report(row_counts={"invoice_lines": 10})
    outputs = report(row_counts={"customer_mrr_monthly": 5}, total_mrr=123.0)
    stats = inputs.stats(outputs)
    assert stats == CloseStats(date(2025, 6, 1), {"invoice_lines": 10,
                                                  "customer_mrr_monthly": 5}, 123.0)  # fmt: skip
    assert CloseStats.from_dict(json.loads(json.dumps(stats.to_dict()))) == stats


def write_summary(root, run_id: str, summary: dict) -> None:
    (root / "validation" / run_id).mkdir(parents=True)
    (root / "validation" / run_id / "summary.json").write_text(json.dumps(summary))


def test_baseline_is_the_latest_earlier_month_that_passed(tmp_path):
    write_summary(tmp_path, "2025-04-inputs-1", {"as_of": "2025-04-01", "phase": "inputs",
                  "passed": True, "row_counts": {"ledger": 90}})  # fmt: skip
    write_summary(tmp_path, "2025-05-inputs-1", {"as_of": "2025-05-01", "phase": "inputs",
                  "passed": True, "row_counts": {"ledger": 100}})  # fmt: skip
    write_summary(tmp_path, "2025-05-inputs-2", {"as_of": "2025-05-01", "phase": "inputs",
                  "passed": True, "row_counts": {"ledger": 101}})  # fmt: skip
    write_summary(tmp_path, "2025-05-outputs-1", {"as_of": "2025-05-01", "phase": "outputs",
                  "passed": True, "total_mrr": 5000.0})  # fmt: skip
    write_summary(tmp_path, "2025-06-inputs-1", {"as_of": "2025-06-01", "phase": "inputs",
                  "passed": False, "row_counts": {"ledger": 1}})  # fmt: skip
    (tmp_path / "validation" / "junk").mkdir()
    (tmp_path / "validation" / "junk" / "summary.json").write_text("{not json")
    assert latest_close_stats(tmp_path, before=date(2025, 7, 1)) == CloseStats(
        date(2025, 5, 1), {"ledger": 101}, 5000.0
    )
    assert latest_close_stats(tmp_path, before=date(2025, 4, 1)) is None

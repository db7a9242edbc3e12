"""Previous closes' volumes, read back from the JSON summaries kept with each validation run.

The flows pass the published close's CloseStats themselves; `nrr validate` run by hand has no
snapshot at hand, so it compares with the latest earlier month whose validation passed.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

from nrr.expectations.report import CloseStats

SUMMARY_FILE = "summary.json"


def latest_close_stats(data_dir: Path, before: date) -> CloseStats | None:
    """Row counts (inputs) and closing MRR (outputs) of the latest passed month < `before`."""
    by_month: dict[date, dict[str, dict]] = {}
    for path in sorted(Path(data_dir, "validation").glob(f"*/{SUMMARY_FILE}")):
        try:
            summary = json.loads(path.read_text())
            month = date.fromisoformat(summary["as_of"])
        except (OSError, ValueError, KeyError):
            continue  # a foreign or half-written file is not a baseline
        if month < before.replace(day=1) and summary.get("passed"):
            by_month.setdefault(month, {})[summary.get("phase", "")] = summary  # latest wins
    if not by_month:
        return None
    month = max(by_month)
    phases = by_month[month]
    inputs, outputs = phases.get("inputs", {}), phases.get("outputs", {})
    return CloseStats(
        period=month,
        row_counts={k: int(v) for k, v in (inputs.get("row_counts") or {}).items()},
        total_mrr=outputs.get("total_mrr"),
    )

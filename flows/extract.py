"""The daily incremental extract on its own: keeps the raw lake fresh between closes."""

from __future__ import annotations

from prefect import flow

from flows.common import flow_settings, step
from tasks.extract import extract_stripe


@flow(name="extract", flow_run_name="extract-stripe")
def extract(
    data_dir: str | None = None, full: bool = False, progress: bool = False
) -> dict[str, object]:
    """Fetch what changed in Stripe since the last run (or everything with `full`)."""
    settings = flow_settings(data_dir)
    return step("extract", extract_stripe, settings, full, progress)

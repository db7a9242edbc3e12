"""The daily incremental extract on its own: keeps the raw lake fresh between closes."""

from __future__ import annotations

from prefect import flow

from nrr.flows.common import flow_settings, step
from nrr.flows.limits import exclusive, lake_limit
from nrr.flows.names import extract_run_name
from nrr.tasks.extract import extract_with_retries


@flow(name="extract", flow_run_name=extract_run_name)
def extract(
    data_dir: str | None = None, full: bool = False, progress: bool = False
) -> dict[str, object]:
    """Fetch what changed in Stripe since the last run (or everything with `full`)."""
    settings = flow_settings(data_dir)
    # one extraction of an account at a time; a close reading the lake waits for it
    with exclusive(lake_limit(settings), "the Stripe lake", settings.lock_timeout_seconds):
        return step("extract", extract_with_retries(settings), settings, full, progress)

"""The three deployments: scheduled monthly close, backfill on demand, daily extract.

Used by `python -m deployments.serve` (a long-running process that runs them, no work pool
needed) and by tests. For a process work pool, see deployments/prefect.yaml.
"""

from __future__ import annotations

from prefect.deployments.runner import EntrypointType, RunnerDeployment
from prefect.schedules import Cron

from flows.backfill import backfill
from flows.extract import extract
from flows.monthly_close import monthly_close
from nrr.settings import Settings

CLOSE_DEPLOYMENT = "monthly-close"
BACKFILL_DEPLOYMENT = "backfill-on-demand"
EXTRACT_DEPLOYMENT = "daily-extract"
DAILY_EXTRACT_CRON = "0 5 * * *"


def build_deployments(settings: Settings, data_dir: str | None = None) -> list[RunnerDeployment]:
    """Deployments with schedules from the settings (NRR_CLOSE_CRON, NRR_CLOSE_TIMEZONE)."""
    common = {"data_dir": data_dir} if data_dir else {}
    # module entrypoints (flows.monthly_close.monthly_close): runs import the installed
    # package, whatever the runner's working directory
    by_module = {"entrypoint_type": EntrypointType.MODULE_PATH}
    return [
        monthly_close.to_deployment(
            name=CLOSE_DEPLOYMENT,
            **by_module,
            schedules=[Cron(settings.close_cron, timezone=settings.close_timezone)],
            parameters={**common},
            description="Close the month that just ended: extract, validate, compute, "
            "snapshot, report, notify.",
            tags=["nrr", "close"],
        ),
        backfill.to_deployment(
            name=BACKFILL_DEPLOYMENT,
            **by_module,
            parameters={**common},
            description="Snapshot a range of months on demand (from_month, to_month).",
            tags=["nrr", "backfill"],
        ),
        extract.to_deployment(
            name=EXTRACT_DEPLOYMENT,
            **by_module,
            schedules=[Cron(DAILY_EXTRACT_CRON, timezone=settings.close_timezone)],
            parameters={**common},
            description="Incremental Stripe extraction, daily.",
            tags=["nrr", "extract"],
        ),
    ]

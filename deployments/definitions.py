"""The three deployments, defined once: scheduled monthly close, backfill on demand, daily
extract. `nrr deploy --work-pool NAME` registers them for a worker; `python -m
nrr.deployments.serve` runs them from one process. Both use these definitions.

Schedules come from the typed settings (NRR_CLOSE_CRON / NRR_CLOSE_TIMEZONE, NRR_EXTRACT_CRON
/ NRR_EXTRACT_TIMEZONE). Entrypoints are module paths (`nrr.flows.monthly_close.monthly_close`):
a worker, a runner or a Dask scheduler imports the installed package, whatever its working
directory; no path of the deploying machine is recorded.
"""

from __future__ import annotations

from prefect.deployments.runner import EntrypointType, RunnerDeployment
from prefect.schedules import Cron

from nrr.flows.backfill import backfill
from nrr.flows.extract import extract
from nrr.flows.monthly_close import monthly_close
from nrr.settings import Settings

CLOSE_DEPLOYMENT = "monthly-close"
BACKFILL_DEPLOYMENT = "backfill-on-demand"
EXTRACT_DEPLOYMENT = "daily-extract"
DAILY_EXTRACT_CRON = "0 5 * * *"  # the default of NRR_EXTRACT_CRON


def job_variables(settings: Settings, working_dir: str | None = None) -> dict[str, object]:
    """What a process worker adds to each run: the settings' environment by name, never a
    secret's value (keys and tokens come from the worker's own environment)."""
    variables: dict[str, object] = {"env": {"NRR_ENVIRONMENT": settings.environment}}
    if working_dir:
        variables["working_dir"] = working_dir
    return variables


def build_deployments(
    settings: Settings,
    data_dir: str | None = None,
    *,
    working_dir: str | None = None,
    with_job_variables: bool = False,
) -> list[RunnerDeployment]:
    """Deployments with their schedules; `data_dir` is baked in as a parameter only when
    given (by default each run uses the NRR_DATA_DIR of the process that runs it)."""
    common = {"data_dir": data_dir} if data_dir else {}
    extras: dict[str, object] = {"entrypoint_type": EntrypointType.MODULE_PATH}
    if with_job_variables:
        extras["job_variables"] = job_variables(settings, working_dir)
    extract_timezone = settings.extract_timezone or settings.close_timezone
    return [
        monthly_close.to_deployment(
            name=CLOSE_DEPLOYMENT,
            schedules=[Cron(settings.close_cron, timezone=settings.close_timezone)],
            parameters={**common},
            description="Close the month that just ended: extract, validate, compute, "
            "snapshot, report, notify.",
            tags=["nrr", "close"],
            **extras,
        ),
        backfill.to_deployment(
            name=BACKFILL_DEPLOYMENT,
            parameters={**common},
            description="Snapshot a range of months on demand (from_month, to_month).",
            tags=["nrr", "backfill"],
            **extras,
        ),
        extract.to_deployment(
            name=EXTRACT_DEPLOYMENT,
            schedules=[Cron(settings.extract_cron, timezone=extract_timezone)],
            parameters={**common},
            description="Incremental Stripe extraction, daily.",
            tags=["nrr", "extract"],
            **extras,
        ),
    ]

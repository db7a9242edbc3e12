"""`nrr deploy --work-pool NAME`: register every deployment on the Prefect server.

The one way to deploy: the same definitions as `python -m nrr.deployments.serve`
(deployments/definitions.py), schedules from the typed settings, module entrypoints.
Running it again updates the deployments in place (same names, same schedules).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from nrr.errors import NrrError

WORK_POOL_HELP = "Process work pool the worker polls (created when missing)."


def register(app: typer.Typer) -> None:
    @app.command()
    def deploy(
        work_pool: Annotated[str, typer.Option("--work-pool", help=WORK_POOL_HELP)],
        working_dir: Annotated[
            Path | None,
            typer.Option(
                "--working-dir",
                help="Directory on the worker's machine each run starts in (where a relative "
                "NRR_DATA_DIR, .env and nrr.toml are found). Default: a fresh temporary "
                "directory per run, so set NRR_DATA_DIR to an absolute path on the worker.",
            ),
        ] = None,
    ) -> None:
        """Register the close, backfill and extract deployments on the server in
        PREFECT_API_URL (schedules from NRR_CLOSE_CRON, NRR_CLOSE_TIMEZONE, NRR_EXTRACT_CRON)."""
        from rich.table import Table

        from nrr.cli_options import console, settings_for

        settings = settings_for()
        api_url = _api_url()
        deployments = _definitions(settings, working_dir)
        _ensure_work_pool(work_pool)
        table = Table(title=f"Deployments on {api_url} (work pool {work_pool})",
                      title_justify="left")  # fmt: skip
        for column in ("deployment", "entrypoint", "schedule"):
            table.add_column(column)
        for deployment in deployments:
            try:
                deployment.apply(work_pool_name=work_pool)
            except Exception as exc:
                raise NrrError(f"could not register {deployment.full_name}: {exc}") from None
            schedule = ", ".join(
                f"{s.schedule.cron} ({s.schedule.timezone})" for s in deployment.schedules
            )
            table.add_row(deployment.full_name, deployment.entrypoint, schedule or "on demand")
        console.print(table)
        console.print(
            f"Start a worker where the data and the secrets are: "
            f"[bold]prefect worker start --pool {work_pool}[/bold]; next runs: "
            "[bold]prefect deployment ls[/bold] / [bold]prefect flow-run ls --state "
            "Scheduled[/bold]"
        )


def _api_url() -> str:
    """The server to deploy to; deploying to a temporary in-process API would be lost."""
    from prefect.settings import PREFECT_API_URL

    url = PREFECT_API_URL.value()
    if not url:
        raise NrrError(
            "PREFECT_API_URL is not set: start a server (`prefect server start`) and export "
            "PREFECT_API_URL=http://HOST:4200/api, or `prefect cloud login`, then deploy"
        )
    return url


def _definitions(settings, working_dir: Path | None):
    from nrr.deployments.definitions import build_deployments

    try:
        return build_deployments(
            settings,
            working_dir=str(working_dir.absolute()) if working_dir else None,
            with_job_variables=True,
        )
    except ValueError as exc:  # an invalid cron or timezone in the settings
        first = str(exc).strip().splitlines()
        raise NrrError(f"invalid schedule in the settings: {first[-1] if first else exc}") from None


def _ensure_work_pool(name: str) -> None:
    """A process work pool of that name (created when missing); any other type is refused."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import WorkPoolCreate
    from prefect.exceptions import ObjectNotFound

    try:
        with get_client(sync_client=True) as client:
            try:
                pool = client.read_work_pool(name)
            except ObjectNotFound:
                from prefect.workers.process import ProcessWorker

                template = ProcessWorker.get_default_base_job_template()
                client.create_work_pool(
                    WorkPoolCreate(name=name, type="process", base_job_template=template)
                )
                return
    except NrrError:
        raise
    except Exception as exc:
        raise NrrError(f"cannot reach the Prefect server at {_api_url()}: {exc}") from None
    if pool.type != "process":
        raise NrrError(
            f"work pool {name!r} is of type {pool.type!r}; the deployments need a process "
            "work pool (the worker imports the installed nrr-pipeline package)"
        )

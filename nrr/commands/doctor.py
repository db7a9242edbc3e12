"""`nrr doctor`: is this installation ready? One line per check, saying what is wrong."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable

import typer
from rich.console import Console

from nrr.cli_options import DataDirOption
from nrr.errors import first_line
from nrr.settings import Settings


def _check_data_dir(settings: Settings) -> str:
    directory = settings.data_dir
    directory.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=directory, prefix=".doctor-"):
        pass
    return f"data directory {directory.resolve()} is writable"


def _check_fx(settings: Settings) -> str:
    import duckdb

    from nrr.sources.fx import load_fx_rates

    con = duckdb.connect()
    rows = load_fx_rates(con, settings.fx_rates_path, settings.inline_fx_rates)
    rated = {row[0] for row in con.execute("select distinct currency from raw_fx_rates").fetchall()}
    unrated = sorted(lake_currencies(settings) - rated - {settings.reporting_currency})
    if unrated:
        source = settings.fx_rates_path or "no FX rates file (fx_rates_path / NRR_FX_RATES)"
        raise RuntimeError(
            f"the Stripe lake {settings.lake_dir} bills in {', '.join(unrated).upper()} but "
            f"{source} gives no rate for {'it' if len(unrated) == 1 else 'them'}"
        )
    if settings.fx_rates_path is None and not rows:
        return "no FX rates file (fine: every amount in the lake is in the reporting currency)"
    return f"FX rates {settings.fx_rates_path or 'inline'}: {rows} rate(s)"


def lake_currencies(settings: Settings) -> set[str]:
    """The currencies the extracted Stripe lake bills in (empty without a lake)."""
    lines = settings.lake_dir / "stripe" / "invoice_lines.parquet"
    if not lines.exists():
        return set()
    import duckdb

    escaped = str(lines).replace("'", "''")
    rows = duckdb.connect().execute(
        f"select distinct lower(currency) from read_parquet('{escaped}') where currency is not null"
    )
    return {row[0] for row in rows.fetchall()}


def _check_stripe(settings: Settings) -> str:
    if settings.stripe_api_key is None:
        lake = settings.lake_dir / "stripe"
        if lake.is_dir():
            return (
                f"no STRIPE_API_KEY: closes use the extracted lake {lake} as it is "
                "(set a key to extract fresh data)"
            )
        raise RuntimeError("STRIPE_API_KEY is not set (needed unless you close from a ledger)")
    from nrr.stripe_source.extract import check_access

    check_access(settings)
    return f"Stripe reachable at {settings.stripe_api_base or 'https://api.stripe.com'}"


def _check_slack(settings: Settings) -> str:
    if settings.slack_bot_token is not None:
        from slack_sdk import WebClient

        kwargs = {"base_url": settings.slack_api_base} if settings.slack_api_base else {}
        client = WebClient(token=settings.slack_bot_token.get_secret_value(),
                           timeout=int(settings.slack_timeout_seconds), **kwargs)  # fmt: skip
        identity = client.auth_test()
        if not settings.slack_channel:
            raise RuntimeError("SLACK_BOT_TOKEN is set but SLACK_CHANNEL is not")
        return (
            f"Slack bot {identity.get('user')} in team {identity.get('team')}, "
            f"channel {settings.slack_channel}"
        )
    if settings.slack_webhook_url is not None:
        return "Slack incoming webhook configured (messages only, no chart files)"
    if settings.environment == "prod":
        raise RuntimeError(
            "NRR_ENVIRONMENT=prod but neither SLACK_BOT_TOKEN nor "
            "SLACK_WEBHOOK_URL is set: leadership would get nothing"
        )
    return f"no Slack credentials: messages go to the outbox {settings.outbox_dir}"


def _check_prefect(settings: Settings) -> str:
    url = os.environ.get("PREFECT_API_URL")
    if not url:
        return (
            "Prefect: ephemeral mode (a temporary local API per command; set PREFECT_API_URL"
            " for a server or Prefect Cloud)"
        )
    import anyio
    from prefect.client.orchestration import get_client

    async def health() -> Exception | None:
        async with get_client() as client:
            return await client.api_healthcheck()

    problem = anyio.run(health)
    if problem:
        raise RuntimeError(f"Prefect API {url} is not healthy: {problem}")
    return f"Prefect API reachable at {url}"


def _check_warehouse(settings: Settings) -> str:
    if not settings.warehouse_path.exists():
        return f"no warehouse yet at {settings.warehouse_path} (created by the first close)"
    from nrr.warehouse import read_warehouse

    con = read_warehouse(settings)
    try:
        tables = con.execute("select count(*) from duckdb_tables()").fetchone()[0]
    finally:
        con.close()
    return f"warehouse {settings.warehouse_path} opens ({tables} tables)"


CHECKS: list[tuple[str, Callable[[Settings], str]]] = [
    ("data directory", _check_data_dir),
    ("exchange rates", _check_fx),
    ("warehouse", _check_warehouse),
    ("stripe", _check_stripe),
    ("slack", _check_slack),
    ("prefect", _check_prefect),
]


def run_checks(settings: Settings) -> list[tuple[str, bool, str]]:
    results = []
    for name, check in CHECKS:
        try:
            results.append((name, True, check(settings)))
        except Exception as exc:  # every problem is one line, never a traceback
            results.append((name, False, first_line(exc)))
    return results


def register(app: typer.Typer) -> None:
    @app.command()
    def doctor(
        data_dir: DataDirOption = None,
    ) -> None:
        """Check the configuration: keys, Stripe and Slack reachable, data dir, Prefect."""
        from nrr.cli_options import settings_for

        console = Console()
        settings = settings_for(data_dir=data_dir)
        results = run_checks(settings)
        for name, ok, message in results:
            mark = "[green]✓[/green]" if ok else "[red]✗[/red]"
            console.print(f"{mark} {name}: {message}", highlight=False)
        if not all(ok for _, ok, _ in results):
            raise typer.Exit(1)

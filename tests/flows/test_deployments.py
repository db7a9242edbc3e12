"""Deployments: every definition loads; a backfill deployment run registered with a real
Prefect API is picked up by a runner, completes, and writes its snapshots."""

from __future__ import annotations

import asyncio
import importlib

import duckdb
from prefect.client.orchestration import get_client
from prefect.deployments import run_deployment
from prefect.runner import Runner

from nrr.deployments.definitions import (
    BACKFILL_DEPLOYMENT,
    CLOSE_DEPLOYMENT,
    EXTRACT_DEPLOYMENT,
    build_deployments,
)
from nrr.settings import Settings


def test_definitions_load_with_their_schedules():
    deployments = {
        d.name: d
        for d in build_deployments(Settings(close_cron="0 7 3 * *", close_timezone="Europe/Paris"))
    }
    assert set(deployments) == {CLOSE_DEPLOYMENT, BACKFILL_DEPLOYMENT, EXTRACT_DEPLOYMENT}
    close = deployments[CLOSE_DEPLOYMENT].schedules[0].schedule
    assert (close.cron, close.timezone) == ("0 7 3 * *", "Europe/Paris")
    assert deployments[BACKFILL_DEPLOYMENT].schedules == []
    for deployment in deployments.values():  # module entrypoints that import
        module, _, name = deployment.entrypoint.rpartition(".")
        assert callable(getattr(importlib.import_module(module), name))


def test_backfill_deployment_run_completes_and_writes_snapshots(tmp_path, ledger_file, monkeypatch):
    data = tmp_path / "data"
    deployments = build_deployments(Settings(), data_dir=str(data))  # (sync: outside the loop)

    async def scenario():
        runner = Runner(name="nrr-test-runner", query_seconds=1)
        for deployment in deployments:
            await runner.aadd_deployment(deployment)
        flow_run = await run_deployment(
            f"backfill/{BACKFILL_DEPLOYMENT}",
            parameters={"from_month": "2024-04", "to_month": "2024-05",
                        "ledger": str(ledger_file)},
            timeout=0,
        )  # fmt: skip
        await runner.start(run_once=True)
        async with get_client() as client:
            return await client.read_flow_run(flow_run.id)

    finished = asyncio.run(scenario())
    assert finished.state.is_completed(), finished.state
    con = duckdb.connect(str(data / "warehouse.duckdb"), read_only=True)
    ids = [r[0] for r in con.execute("select snapshot_id from snapshots order by 1").fetchall()]
    con.close()
    assert ids == ["2024-04-v1", "2024-05-v1"]

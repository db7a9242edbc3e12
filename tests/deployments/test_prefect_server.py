"""Deployed as a data engineer deploys it: a real `prefect server start`, `nrr deploy`, a
process worker, the local Stripe and Slack servers.

- the scheduler creates the close's and the extract's next runs at the configured cron and
  timezone (this guards the SQLAlchemy pin: with 2.1 the scheduler creates none);
- a worker completes a triggered close with a relative NRR_DATA_DIR; its artifacts are on
  the server;
- two closes of the same month and an extract at once: one close publishes, the other waits
  and finds it unchanged, nobody fails or reads a half-written lake;
- a close with Stripe unreachable ends Failed and posts exactly one failure alert.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb
import pytest

from nrr.demo import month_shift
from nrr.sandbox.slack_server import DEFAULT_TOKEN
from tests.deployments.conftest import (
    API_KEY,
    CHANNEL,
    PrefectServer,
    free_port,
    worker_env,
)

pytestmark = [pytest.mark.slow, pytest.mark.prefect]

POOL = "nrr-test-pool"
CLOSE_CRON, EXTRACT_CRON, ZONE = "0 7 3 * *", "30 5 * * *", "Europe/Paris"


def _deploy_env(server: PrefectServer, **extra: str) -> dict[str, str]:
    return server.env(
        NRR_CLOSE_CRON=CLOSE_CRON,
        NRR_CLOSE_TIMEZONE=ZONE,
        NRR_EXTRACT_CRON=EXTRACT_CRON,
        STRIPE_API_KEY=API_KEY,
        SLACK_BOT_TOKEN=DEFAULT_TOKEN,
        **extra,
    )


def _deployments(server: PrefectServer) -> dict[str, dict]:
    found = server.api("POST", "/deployments/filter", json={}).json()
    return {d["name"]: d for d in found}


def _scheduled(server: PrefectServer, deployment_id: str) -> list[datetime]:
    runs = server.flow_runs(deployment_id={"any_": [deployment_id]},
                            state={"type": {"any_": ["SCHEDULED"]}})  # fmt: skip
    return [datetime.fromisoformat(r["expected_start_time"]) for r in runs]


def _wait_scheduled(server: PrefectServer, *deployment_ids: str) -> list[list[datetime]]:
    """At least 3 scheduled runs of each deployment, within two minutes."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        runs = [_scheduled(server, deployment_id) for deployment_id in deployment_ids]
        if all(len(found) >= 3 for found in runs):
            return runs
        time.sleep(1)
    raise AssertionError(f"scheduled runs per deployment: {[len(r) for r in runs]}")


def _next_monthly(now: datetime, day: int, hour: int, count: int) -> list[datetime]:
    out, year, month = [], now.year, now.month
    while len(out) < count:
        at = datetime(year, month, day, hour, tzinfo=now.tzinfo)
        if at > now:
            out.append(at)
        year, month = year + month // 12, month % 12 + 1
    return out


def _next_daily(now: datetime, hour: int, minute: int, count: int) -> list[datetime]:
    days = [now.date() + timedelta(days=i) for i in range(count + 1)]
    times = [datetime(d.year, d.month, d.day, hour, minute, tzinfo=now.tzinfo) for d in days]
    return [t for t in times if t > now][:count]


def test_deploy_then_the_scheduler_creates_runs_at_the_configured_cron(prefect_server, tmp_path):
    server = prefect_server
    started = time.monotonic()
    deployed = server.nrr("deploy", "--work-pool", POOL, cwd=tmp_path, env=_deploy_env(server))
    assert deployed.returncode == 0, deployed.stderr + deployed.stdout
    found = _deployments(server)
    assert set(found) == {"monthly-close", "backfill-on-demand", "daily-extract"}
    for deployment in found.values():
        assert deployment["work_pool_name"] == POOL
        assert deployment["path"] is None and deployment["pull_steps"] == []
        assert deployment["entrypoint"] in {
            "nrr.flows.monthly_close.monthly_close",
            "nrr.flows.backfill.backfill",
            "nrr.flows.extract.extract",
        }
        assert deployment["job_variables"] == {"env": {"NRR_ENVIRONMENT": "local"}}
        assert API_KEY not in json.dumps(deployment) and DEFAULT_TOKEN not in json.dumps(deployment)
    close, extract = found["monthly-close"], found["daily-extract"]
    assert [(s["schedule"]["cron"], s["schedule"]["timezone"]) for s in close["schedules"]] == [
        (CLOSE_CRON, ZONE)
    ]

    close_runs, extract_runs = _wait_scheduled(server, close["id"], extract["id"])
    print(f"\nafter deploy: {len(close_runs)} close and {len(extract_runs)} extract runs "
          f"{time.monotonic() - started:.1f}s after `nrr deploy` started")  # fmt: skip
    now = datetime.now(ZoneInfo(ZONE))
    assert close_runs[:3] == _next_monthly(now, 3, 7, 3)
    assert extract_runs[:3] == _next_daily(now, 5, 30, 3)

    # the server schedules a deployment's first runs when it is created; the scheduler
    # service keeps them coming: delete them and it must create them again (with
    # SQLAlchemy 2.1 its loop fails every time and they never come back)
    for run in server.flow_runs(deployment_id={"any_": [close["id"], extract["id"]]}):
        server.api("DELETE", f"/flow_runs/{run['id']}")
    started = time.monotonic()
    recreated = _wait_scheduled(server, close["id"], extract["id"])
    print(f"scheduler service: {len(recreated[0])} close and {len(recreated[1])} extract runs "
          f"{time.monotonic() - started:.1f}s after they were deleted")  # fmt: skip
    assert (recreated[0][:3], recreated[1][:3]) == (close_runs[:3], extract_runs[:3])
    log = (server.home / "server.log").read_text()
    assert "Can't evaluate bulk DML" not in log, log[-3000:]

    # run again: the same three deployments, updated in place, no duplicate runs
    again = server.nrr("deploy", "--work-pool", POOL, cwd=tmp_path, env=_deploy_env(server))
    assert again.returncode == 0, again.stderr + again.stdout
    time.sleep(4)  # a few scheduler loops
    after = _deployments(server)
    assert {n: d["id"] for n, d in after.items()} == {n: d["id"] for n, d in found.items()}
    close_again = _scheduled(server, close["id"])
    assert len(close_again) == len(set(close_again)) >= 3
    assert close_again[:3] == close_runs[:3]


def _trigger(server: PrefectServer, deployment: str, parameters: dict, **job_env: str) -> str:
    deployment_id = _deployments(server)[deployment]["id"]
    body: dict = {"parameters": parameters}
    if job_env:
        body["job_variables"] = {"env": job_env}
    run = server.api("POST", f"/deployments/{deployment_id}/create_flow_run", json=body).json()
    return run["id"]


def _snapshot_ids(data: Path, month: date) -> list[str]:
    con = duckdb.connect(str(data / "warehouse.duckdb"), read_only=True)
    try:
        rows = con.execute("select snapshot_id from snapshots where period = ? order by 1",
                           [month]).fetchall()  # fmt: skip
    finally:
        con.close()
    return [r[0] for r in rows]


@pytest.fixture(scope="module")
def worker(prefect_server, services, tmp_path_factory) -> Path:
    """`nrr deploy --working-dir` and a process worker started there with NRR_DATA_DIR=data."""
    server = prefect_server
    directory = tmp_path_factory.mktemp("worker")
    deployed = server.nrr("deploy", "--work-pool", POOL, "--working-dir", str(directory),
                          cwd=directory, env=_deploy_env(server))  # fmt: skip
    assert deployed.returncode == 0, deployed.stderr + deployed.stdout
    server.start_worker(POOL, directory, worker_env(server, services))
    return directory


def test_a_worker_completes_a_triggered_close_with_a_relative_data_dir(
    prefect_server, services, worker
):
    server, month = prefect_server, services.closed
    started = time.monotonic()
    run_id = _trigger(server, "monthly-close", {})  # as the schedule runs it: no parameters
    run = server.wait_final([run_id], timeout=900)[run_id]
    print(f"\ntriggered close: {run['state']['type']} in {time.monotonic() - started:.1f}s")
    assert run["state"]["type"] == "COMPLETED", (
        run["state"],
        server.logs(run_id)[-15:],
        (worker / "worker.log").read_text()[-3000:],
    )
    assert run["name"] == f"close-{month:%Y-%m}"  # not close-None
    data = worker / "data"  # NRR_DATA_DIR=data, resolved in the run's working directory
    assert _snapshot_ids(data, month) == [f"{month:%Y-%m}-v1"]
    assert any((data / "validation").rglob("index.html"))
    body = {"artifacts": {"flow_run_id": {"any_": [run_id]}}}
    keys = {a["key"] for a in server.api("POST", "/artifacts/filter", json=body).json()}
    assert {f"close-{month:%Y-%m}", f"close-{month:%Y-%m}-segments"} <= keys
    keys = [(m.metadata or {}).get("event_payload", {}).get("idempotency_key")
            for m in services.slack.messages(CHANNEL)]  # fmt: skip
    assert f"{month:%Y-%m}/summary/v1" in keys


def test_two_closes_and_an_extract_at_once(prefect_server, services, worker):
    """Two workers (same data directory, as two machines sharing it would) and three runs."""
    server = prefect_server
    month = month_shift(services.closed, -1)
    server.start_worker(POOL, worker, worker_env(server, services), log_name="worker-2.log")
    server.wait_workers(POOL, 2)
    started = time.monotonic()
    runs = [
        _trigger(server, "monthly-close", {"month": f"{month:%Y-%m}"}),
        _trigger(server, "monthly-close", {"month": f"{month:%Y-%m}"}),
        _trigger(server, "daily-extract", {}),
    ]
    finished = server.wait_final(runs, timeout=1500)
    print(f"\ntwo closes and an extract: {time.monotonic() - started:.1f}s")
    for run_id, run in finished.items():
        assert run["state"]["type"] == "COMPLETED", (run["name"], run["state"],
                                                     server.logs(run_id)[-15:])  # fmt: skip
    assert _snapshot_ids(worker / "data", month) == [f"{month:%Y-%m}-v1"]  # one publishes
    logs = {run_id: server.logs(run_id) for run_id in runs}
    outcomes = [line for run_id in runs[:2] for line in logs[run_id] if "unchanged" in line
                or "published" in line]  # fmt: skip
    assert any("unchanged" in line for line in outcomes), outcomes  # the other one: unchanged
    waited = [line for lines in logs.values() for line in lines if line.startswith("waiting for")]
    assert waited, "no run waited for the lake or the month: they did not overlap"
    assert all("Prefect concurrency limit" in line for line in waited)


def test_a_close_with_stripe_unreachable_fails_and_alerts_once(prefect_server, services, worker):
    from nrr.settings import Settings
    from nrr.slack.service import notify_failed

    server, month = prefect_server, services.closed
    down = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    run_id = _trigger(server, "monthly-close", {"month": f"{month:%Y-%m}"},
                      STRIPE_API_BASE=down, NRR_EXTRACT_RETRIES="0",
                      NRR_STRIPE_MAX_RETRIES="0")  # fmt: skip
    run = server.wait_final([run_id], timeout=600)[run_id]
    assert run["state"]["type"] == "FAILED", run["state"]
    assert "step 'extract' failed" in run["state"]["message"]

    def alerts():
        return [m for m in services.slack.messages(CHANNEL)
                if ((m.metadata or {}).get("event_payload") or {}).get("idempotency_key", "")
                .startswith(f"{month:%Y-%m}/failed/")]  # fmt: skip

    deadline = time.monotonic() + 120  # the hook runs as the run ends
    while not alerts() and time.monotonic() < deadline:
        time.sleep(1)
    sent = alerts()
    assert len(sent) == 1, sent
    text = json.dumps(sent[0].blocks)
    assert "extract" in text and run_id in text  # the step and the run's URL
    assert sent[0].metadata["event_payload"]["idempotency_key"] == f"{month:%Y-%m}/failed/{run_id}"

    # the hook firing again (a crash report after the failure) does not post twice
    settings = Settings(_env_file=None, data_dir=worker / "data", slack_bot_token=DEFAULT_TOKEN,
                        slack_channel=CHANNEL, slack_api_base=services.slack.api_base)  # fmt: skip
    again = notify_failed(settings, month, run_id, "extract", "again", None)
    assert [o.status for o in again.outcomes] == ["already-delivered"]
    assert len(alerts()) == 1


def test_deploy_without_a_server_says_what_to_do(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env["PREFECT_HOME"] = str(tmp_path)
    result = subprocess.run([str(Path(sys.executable).parent / "nrr"), "deploy", "--work-pool",
                             POOL], cwd=tmp_path, env=env, capture_output=True, text=True,
                            timeout=120)  # fmt: skip
    assert result.returncode == 1
    assert "PREFECT_API_URL is not set" in result.stderr and "Traceback" not in result.stderr


def test_a_crashed_close_alerts_once(prefect_server, services, worker, tmp_path):
    """The run's process dies (os._exit, as under the OOM killer): the worker marks it
    Crashed and runs the close's crash hook, which posts one alert."""
    server, month = prefect_server, month_shift(services.closed, -2)
    (tmp_path / "sitecustomize.py").write_text(
        "import os, threading\n"
        "threading.Timer(float(os.environ['DIE_AFTER']), os._exit, [137]).start()\n"
    )
    run_id = _trigger(server, "monthly-close", {"month": f"{month:%Y-%m}"},
                      PYTHONPATH=str(tmp_path), DIE_AFTER="10")  # fmt: skip
    run = server.wait_final([run_id], timeout=600)[run_id]
    assert run["state"]["type"] == "CRASHED", run["state"]

    def alerts():
        return [m for m in services.slack.messages(CHANNEL)
                if ((m.metadata or {}).get("event_payload") or {}).get("idempotency_key")
                == f"{month:%Y-%m}/failed/{run_id}"]  # fmt: skip

    deadline = time.monotonic() + 240  # the worker runs the hook after the process ended
    while not alerts() and time.monotonic() < deadline:
        time.sleep(1)
    time.sleep(3)  # and nothing more arrives
    sent = alerts()
    assert len(sent) == 1, sent
    assert "crashed" in json.dumps(sent[0].blocks)


def test_nrr_extract_waits_for_the_lake_held_by_another_run(prefect_server, services, tmp_path):
    """With PREFECT_API_URL set, `nrr extract` takes the account's lake limit too: while a
    run holds it, the command waits, then says what it waited for."""
    from prefect.concurrency.sync import concurrency
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from nrr.flows.limits import exclusive, lake_limit
    from nrr.settings import Settings

    server = prefect_server
    elsewhere = f"http://127.0.0.1:{free_port()}"  # an account of its own: its own limit
    name = lake_limit(Settings(_env_file=None, stripe_api_key=API_KEY,
                               stripe_api_base=elsewhere))  # fmt: skip
    env = worker_env(server, services, NRR_LOCK_TIMEOUT="3", COLUMNS="300",
                     STRIPE_API_BASE=elsewhere)  # fmt: skip
    with temporary_settings({PREFECT_API_URL: server.url}):
        with exclusive(name, "the Stripe lake", 60):  # creates the limit, holds its slot
            result = server.nrr("extract", cwd=tmp_path, env=env)
        with concurrency(name, timeout_seconds=30, strict=True):  # released again
            pass
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"waited 3s for the Stripe lake (Prefect concurrency limit '{name}')" in result.stderr
    assert not (tmp_path / "data" / "lake").exists()  # nothing written meanwhile

"""A real `prefect server start` (its own PREFECT_HOME, a free port), the local Stripe and
Slack servers, and helpers to run `nrr deploy` and a process worker against them.

Nothing here uses Prefect's test harness: the server is the command a data engineer runs,
talked to over HTTP; the worker and `nrr deploy` are subprocesses with their own environment.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import httpx
import pytest

from nrr.demo import month_shift
from nrr.ephemeral import free_port, wait_healthy
from nrr.errors import NrrError
from nrr.sandbox.slack_server import DEFAULT_TOKEN, SlackServer
from nrr.sandbox.stripe_generator import generate_account
from nrr.sandbox.stripe_server import serve

BIN = Path(sys.executable).parent
API_KEY = "sk_test_orchestration_secret"
CHANNEL = "C0FINANCE1"
SERVER_START_SECONDS = 180


@dataclass
class PrefectServer:
    url: str  # .../api
    home: Path
    process: subprocess.Popen
    children: list[subprocess.Popen] = field(default_factory=list)

    def env(self, **extra: str) -> dict[str, str]:
        """A clean environment for a subprocess of this test: no NRR_/STRIPE_/SLACK_ from
        the developer's shell, this server's API."""
        base = {k: v for k, v in os.environ.items()
                if not k.startswith(("NRR_", "STRIPE_", "SLACK_", "PREFECT_"))}  # fmt: skip
        base.update(
            PREFECT_HOME=str(self.home),
            PREFECT_API_URL=self.url,
            PREFECT_SERVER_ANALYTICS_ENABLED="false",
            PREFECT_LOGGING_LEVEL="INFO",
        )
        base.update(extra)
        return base

    def api(self, method: str, path: str, **kwargs) -> httpx.Response:
        """One REST call; retried on 502/503 and timeouts, as Prefect's own client does (the
        server's SQLite is slow to answer on a loaded machine)."""
        for attempt in range(8):
            try:
                response = httpx.request(method, f"{self.url}{path}", timeout=60, **kwargs)
            except httpx.TimeoutException:
                reads = method in ("GET", "DELETE") or path.endswith("/filter")
                if attempt == 7 or not reads:  # never create a run twice
                    raise
                continue
            if response.status_code not in (502, 503):
                break
            time.sleep(0.5 * (attempt + 1))
        response.raise_for_status()
        return response

    def nrr(self, *args: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
        return subprocess.run([str(BIN / "nrr"), *args], cwd=cwd, env=env, text=True,
                              capture_output=True, timeout=300)  # fmt: skip

    def start_worker(
        self, pool: str, cwd: Path, env: dict[str, str], log_name: str = "worker.log"
    ) -> subprocess.Popen:
        log = open(cwd / log_name, "w")  # noqa: SIM115  (closed with the process)
        worker = subprocess.Popen(
            [str(BIN / "prefect"), "worker", "start", "--pool", pool, "--type", "process"],
            cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        self.children.append(worker)
        return worker

    def wait_workers(self, pool: str, count: int, timeout: float = 120) -> None:
        """Until `count` workers of `pool` have sent a heartbeat."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            workers = self.api("POST", f"/work_pools/{pool}/workers/filter", json={}).json()
            if sum(1 for w in workers if w.get("status") == "ONLINE") >= count:
                return
            time.sleep(1)
        raise AssertionError(f"fewer than {count} workers online in {pool}")

    def flow_runs(self, **flow_run_filter) -> list[dict]:
        body = {"flow_runs": flow_run_filter, "sort": "EXPECTED_START_TIME_ASC", "limit": 200}
        return self.api("POST", "/flow_runs/filter", json=body).json()

    def wait_final(self, run_ids: list[str], timeout: float) -> dict[str, dict]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            runs = {r["id"]: r for r in self.flow_runs(id={"any_": run_ids})}
            if all(r["state"]["type"] in ("COMPLETED", "FAILED", "CRASHED", "CANCELLED")
                   for r in runs.values()):  # fmt: skip
                return runs
            time.sleep(2)
        states = [(r["name"], r["state"]["type"]) for r in runs.values()]
        raise AssertionError(f"runs not finished after {timeout}s: {states}")

    def logs(self, run_id: str) -> list[str]:
        body = {"logs": {"flow_run_id": {"any_": [run_id]}}, "limit": 200}
        return [entry["message"] for entry in self.api("POST", "/logs/filter", json=body).json()]


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


@pytest.fixture(scope="module")
def prefect_server(tmp_path_factory) -> Iterator[PrefectServer]:
    home = tmp_path_factory.mktemp("prefect-server-home")
    port = free_port()
    url = f"http://127.0.0.1:{port}/api"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update(
        PREFECT_HOME=str(home),
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        PREFECT_UI_ENABLED="false",
        # the scheduler every second instead of every minute, a few runs ahead
        PREFECT_SERVER_SERVICES_SCHEDULER_LOOP_SECONDS="1",
        PREFECT_SERVER_SERVICES_SCHEDULER_MAX_RUNS="5",
    )
    log = open(home / "server.log", "w")  # noqa: SIM115  (closed below)
    process = subprocess.Popen(
        [str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port", str(port)],
        env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    server = PrefectServer(url, home, process)
    try:
        wait_healthy(process, url, SERVER_START_SECONDS)
    except NrrError as exc:
        raise AssertionError(f"{exc}\n{(home / 'server.log').read_text()[-3000:]}") from None
    try:
        yield server
    finally:
        for child in server.children:
            _stop(child)
        _stop(process)
        log.close()
        text = (home / "server.log").read_text()
        assert "Can't evaluate bulk DML" not in text, text[-3000:]


@dataclass
class Services:
    stripe_url: str
    slack: SlackServer
    fx_rates: Path
    closed: date  # the month that just ended: what a close without `month` closes


@pytest.fixture(scope="module")
def services(tmp_path_factory) -> Iterator[Services]:
    """A small Stripe account up to the month that just ended, and a Slack workspace."""
    closed = month_shift(date.today().replace(day=1), -1)
    months = 14
    account = generate_account(120, months, first_month=month_shift(closed, -(months - 1)),
                               seed=14)  # fmt: skip
    fx = account.write_fx_rates(tmp_path_factory.mktemp("fx") / "fx_rates.csv")
    with serve(account, api_key=API_KEY) as stripe, SlackServer() as slack:
        yield Services(stripe.url, slack, fx, closed)


def worker_env(server: PrefectServer, services: Services, **extra: str) -> dict[str, str]:
    """What a worker's machine provides: secrets and the data location (relative here)."""
    values = {
        "NRR_DATA_DIR": "data",
        "NRR_FX_RATES": str(services.fx_rates),
        "STRIPE_API_KEY": API_KEY,
        "STRIPE_API_BASE": services.stripe_url,
        "NRR_STRIPE_MAX_RPS": "500",
        "NRR_STRIPE_PROCESSES": "false",
        "SLACK_BOT_TOKEN": DEFAULT_TOKEN,
        "SLACK_CHANNEL": CHANNEL,
        "SLACK_API_BASE": services.slack.api_base,
        "PREFECT_WORKER_QUERY_SECONDS": "1",
    }
    return server.env(**{**values, **extra})

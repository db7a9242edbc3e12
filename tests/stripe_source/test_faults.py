"""Faults and interruptions: the lake ends identical to a clean run, no row lost or doubled."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from nrr.errors import NrrError
from nrr.sandbox.stripe_server import Fault, Faults, serve
from nrr.stripe_source.extract import extract
from nrr.stripe_source.state import StateStore
from tests.stripe_source.conftest import API_KEY, lake_rows, stripe_settings


@pytest.fixture(scope="module")
def clean_lake(account, tmp_path_factory):
    """The reference: the same account extracted with no fault at all."""
    data = tmp_path_factory.mktemp("clean")
    with serve(account) as server:
        extract(stripe_settings(data, server.url))
    return lake_rows(data)


@pytest.mark.parametrize("processes", [True, False], ids=["worker-processes", "threads"])
def test_429s_500s_and_dropped_connections_are_retried_to_the_same_lake(
    tmp_path, account, clean_lake, processes
):
    faults = Faults(
        [
            Fault("429", every=23, retry_after=1),
            Fault("500", probability=0.06),
            Fault("503", every=5, path="/v1/invoices"),
            Fault("drop", every=17),
        ],
        seed=3,
    )
    with serve(account, faults=faults) as server:
        settings = stripe_settings(tmp_path, server.url, stripe_worker_processes=processes)
        result = extract(settings)
        injected = [r.fault for r in server.requests if r.fault]
    assert {"429", "500", "503", "drop"} <= set(injected)
    assert result.retries == len(injected)
    assert lake_rows(tmp_path) == clean_lake


def break_invoices_after(server, pages: int) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        listed = [
            r
            for r in server.requests
            if r.path == "/v1/invoices" and r.params.get("limit") == "100" and "created" in r.params
        ]  # pages of the slices, after planning
        if len(listed) >= pages:
            server.faults.add(Fault("500", every=1, path="/v1/invoices"))
            return
        time.sleep(0.001)


def test_a_run_that_fails_midway_resumes_where_it_stopped(tmp_path, account, clean_lake):
    with serve(account) as server:
        settings = stripe_settings(tmp_path, server.url, stripe_max_retries=2)
        # after a few pages of invoices, the invoices endpoint fails for good
        breaker = threading.Thread(target=break_invoices_after, args=(server, 4), daemon=True)
        breaker.start()
        with pytest.raises(NrrError, match=r"HTTP 500.*the next `nrr extract` resumes this run"):
            extract(settings)
        breaker.join()
        pending = StateStore(settings.lake_dir / "stripe" / "_state.json").state.pending
        assert pending is not None
        finished = [key for key, task in pending.tasks.items() if task.done]
        assert finished  # some tasks completed before the failure
        server.faults.clear()
        server.clear_requests()
        result = extract(settings)
        relisted = {
            (r.path, tuple(sorted(r.params.get("created", {}).items())))
            for r in server.requests
            if r.params.get("limit") == "100"
        }
    assert result.resumed and result.run_id == pending.run_id
    assert lake_rows(tmp_path) == clean_lake
    finished_walks = {
        (
            f"/v1/{t.dataset}",
            tuple(sorted((k, str(v)) for k, v in t.params.get("created", {}).items())),
        )
        for t in pending.tasks.values()
        if t.done
    }
    assert not relisted & finished_walks  # finished tasks were not listed again


def survivors(data_dir) -> list[int]:
    """Live processes started for `data_dir` (found by the NRR_DATA_DIR they inherited)."""
    marker = f"NRR_DATA_DIR={data_dir}".encode()
    found = []
    for proc in Path("/proc").iterdir():
        try:
            alive = proc.name.isdigit() and (proc / "stat").read_text().split(") ")[1][0] != "Z"
            if alive and marker in (proc / "environ").read_bytes().split(b"\0"):
                found.append(int(proc.name))
        except OSError:
            continue
    return found


def test_a_killed_extraction_resumes_without_duplicates(tmp_path, account, clean_lake):
    with serve(account) as server:
        env = {
            **os.environ,
            "STRIPE_API_KEY": API_KEY,
            "STRIPE_API_BASE": server.url,
            "NRR_DATA_DIR": str(tmp_path),
            "NRR_STRIPE_MAX_RPS": "40",  # slow enough to be killed in the middle
        }
        child = subprocess.Popen(
            [sys.executable, "-m", "nrr.cli", "extract"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            runs = tmp_path / "lake" / "stripe" / "_runs"
            deadline = time.monotonic() + 60
            while len(list(runs.rglob("*.parquet"))) < 6 and time.monotonic() < deadline:
                time.sleep(0.01)  # kill once a few parts are written: in the middle
            assert child.poll() is None, "the extraction finished before it could be killed"
            child.send_signal(signal.SIGKILL)
            child.wait(10)
        finally:
            if child.poll() is None:
                child.kill()
        state = StateStore(tmp_path / "lake" / "stripe" / "_state.json").state
        assert state.pending is not None and state.last_run is None
        # its worker processes notice and exit instead of fetching on for nobody
        deadline = time.monotonic() + 5
        while survivors(tmp_path) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert survivors(tmp_path) == []
        result = extract(stripe_settings(tmp_path, server.url))
    assert result.resumed
    assert lake_rows(tmp_path) == clean_lake

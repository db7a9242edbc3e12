"""The wheel is what production installs (`pip install .`): it must carry every module and
data file of the tree under the one import root `nrr`, and run a close on its own."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import duckdb
import pytest

ROOT = Path(__file__).resolve().parents[1]
# repository folder -> where it lands in the wheel (pyproject.toml [tool.setuptools])
MAPPED = {
    "nrr": "nrr",
    "flows": "nrr/flows",
    "tasks": "nrr/tasks",
    "metrics": "nrr/metrics",
    "expectations": "nrr/expectations",
    "deployments": "nrr/deployments",
    "sandbox": "nrr/sandbox",
}
SHIPPED = (".py", ".sql", ".csv", ".json")
LEDGER = """customer_id,start_date,end_date,mrr,currency,plan
acme,2024-01-01,,1000,usd,pro
globex,2024-01-01,2025-03-01,500,usd,basic
initech,2024-02-01,,250,usd,basic
initech,2024-09-01,,250,usd,addon
umbrella,2024-03-01,2024-08-01,800,usd,pro
umbrella,2024-11-01,,800,usd,pro
hooli,2025-01-01,,2000,usd,enterprise
"""


def _tracked_files() -> list[str]:
    out = subprocess.run(
        ["git", "ls-files", *MAPPED], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    return [line for line in out.splitlines() if line.endswith(SHIPPED)]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(out), str(ROOT)],
        check=True,
        capture_output=True,
    )
    (built,) = out.glob("*.whl")
    return built


def test_the_wheel_carries_every_module_and_data_file_under_one_import_root(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    expected = set()
    for path in _tracked_files():
        folder, _, rest = path.partition("/")
        expected.add(f"{MAPPED[folder]}/{rest}")
    assert expected - names == set(), "missing from the wheel (pyproject.toml packages)"
    top_level = {name.split("/")[0] for name in names if not name.endswith(".dist-info/RECORD")}
    assert {t for t in top_level if not t.endswith(".dist-info")} == {"nrr"}


@pytest.mark.slow  # a clean virtualenv with every dependency, then a close
def test_the_installed_wheel_runs_a_close_on_a_ledger(wheel, tmp_path):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = [str(venv / "bin/python"), "-m", "pip", "install", "--quiet"]
    subprocess.run([*pip, "-c", str(ROOT / "constraints.txt"), str(wheel)], check=True)

    work = tmp_path / "work"  # a fresh directory: the default ./data, nothing of the checkout
    work.mkdir()
    (work / "ledger.csv").write_text(LEDGER)
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("NRR_", "PREFECT_", "SLACK_", "STRIPE_", "PYTHON"))
    }
    env["PREFECT_HOME"] = str(tmp_path / "prefect")  # a new Prefect database: migrations first
    env["PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS"] = "180"
    close = ["close", "--ledger", "ledger.csv", "--month", "2025-06", "--no-notify"]
    result = subprocess.run(
        [str(venv / "bin/nrr"), *close],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    with duckdb.connect(str(work / "data/warehouse.duckdb"), read_only=True) as con:
        published = con.execute("select period, version, status from snapshots").fetchall()
        nrr = con.execute(
            "select nrr from retention_windows where window_months = 12 and dimension = 'all'"
            " and as_of = date '2025-06-01'"
        ).fetchone()
    assert [(str(p), v) for p, v, _ in published] == [("2025-06-01", 1)]
    # cohort at 2024-06: acme 1000, globex 500, initech 250, umbrella 800 (gone 2024-08,
    # back 2024-11: churned under the default `exclude`); at 2025-06: acme 1000, initech 500
    assert nrr is not None and abs(nrr[0] - 1500 / 2550) < 1e-9

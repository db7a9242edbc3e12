"""Serve the deployments from this process: `python -m nrr.deployments.serve [--data-dir DIR]`.

Uses the same definitions as `nrr deploy` (deployments/definitions.py); for a work pool and
a worker, use `nrr deploy --work-pool NAME` instead (the two register the same names: use
one or the other). Needs a Prefect API (PREFECT_API_URL: `prefect server start`, or Prefect
Cloud). The process registers the deployments, then runs their scheduled and on-demand runs.
"""

from __future__ import annotations

import argparse

from prefect import serve

from nrr.deployments.definitions import build_deployments
from nrr.settings import load_settings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", help="data directory the flows use (default NRR_DATA_DIR)")
    args = parser.parse_args()
    settings = load_settings()
    serve(*build_deployments(settings, args.data_dir))


if __name__ == "__main__":
    main()

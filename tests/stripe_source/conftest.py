"""Fixtures: a small synthetic Stripe account served by the local Stripe-compatible server."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from nrr.sandbox.stripe_generator import Account, generate_account
from nrr.sandbox.stripe_server import StripeServer, serve
from nrr.settings import Settings
from nrr.stripe_source.client import StripeApi
from nrr.stripe_source.datasets import ALL
from nrr.stripe_source.lake import dataset_path, stripe_root

API_KEY = "sk_test_local"


def small_account(seed: int = 21, customers: int = 120, months: int = 18) -> Account:
    return generate_account(customers, months, first_month=date(2024, 1, 1), seed=seed)


@pytest.fixture(scope="module")
def account() -> Account:
    """Shared by a module's tests: they must not change it (use small_account() to)."""
    return small_account()


@pytest.fixture
def server(account: Account) -> Iterator[StripeServer]:
    with serve(account, api_key=API_KEY) as running:
        yield running


@pytest.fixture(autouse=True)
def fast_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    """Retries without Retry-After wait milliseconds, not seconds, in tests."""
    monkeypatch.setattr(StripeApi, "initial_wait", 0.01)
    monkeypatch.setattr(StripeApi, "max_wait", 0.05)


def stripe_settings(data_dir: Path, url: str, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "data_dir": data_dir,
        "stripe_api_key": API_KEY,
        "stripe_api_base": url,
        "stripe_max_requests_per_second": 1_000,
        "stripe_concurrency": 3,
        "stripe_max_retries": 8,
    }
    values.update(overrides)
    return Settings(**values)


def lake_rows(
    data_dir: Path,
    *,
    skip: tuple[str, ...] = ("events",),
    ignore: dict[str, set[str]] | None = None,
) -> dict[str, list[tuple]]:
    """Every committed dataset's rows without the extraction's bookkeeping, sorted.

    `ignore` names fields of the raw JSON to leave out, per dataset.
    """
    root = stripe_root(Settings(data_dir=data_dir).lake_dir)
    content = {}
    for dataset in ALL:
        if dataset.name in skip:
            continue
        path = dataset_path(root, dataset.name)
        if not path.exists():
            content[dataset.name] = []
            continue
        table = pq.read_table(path)
        keep = [name for name in table.column_names if not name.startswith("_")]
        rows = table.select(keep).to_pylist()
        for field in (ignore or {}).get(dataset.name, ()):
            for row in rows:
                raw = json.loads(row["raw"])
                raw.pop(field, None)
                row["raw"] = json.dumps(raw, sort_keys=True)
        content[dataset.name] = sorted((tuple(sorted(row.items())) for row in rows), key=repr)
    return content


def lake_fingerprint(data_dir: Path) -> dict[str, str]:
    """Hash of every file under the lake: 'nothing changed' means byte for byte."""
    lake = Settings(data_dir=data_dir).lake_dir
    return {
        str(path.relative_to(lake)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(lake.rglob("*"))
        if path.is_file()
    }

"""Stripe -> raw Parquet lake -> revenue ledger.

`extract(settings)` and `check_access(settings)` live in `nrr.stripe_source.extract` (they
import the `stripe` package); `ledger_from_lake(settings)` lives in
`nrr.stripe_source.ledger` and needs only the lake, so `nrr compute` never imports
`stripe`. Attribute access here imports lazily for the same reason.
"""

from __future__ import annotations

from typing import Any

# (`extract` is not re-exported: the submodule of that name would shadow it)
__all__ = ["ExtractResult", "check_access", "ledger_from_lake"]


def __getattr__(name: str) -> Any:
    if name in ("check_access", "ExtractResult"):
        import importlib

        # the submodule `extract` shadows the function of the same name once imported
        module = importlib.import_module("nrr.stripe_source.extract")
        return getattr(module, name)
    if name == "ledger_from_lake":
        from nrr.stripe_source.ledger import ledger_from_lake

        return ledger_from_lake
    raise AttributeError(name)

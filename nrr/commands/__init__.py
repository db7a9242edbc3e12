"""Sub-commands that live in their own modules.

Every module in this package defines `register(app: typer.Typer) -> None`, which adds its
command(s). Modules must import their heavy dependencies (Prefect, Stripe, Slack, Great
Expectations) inside the command functions, not at module level, so that `nrr compute`
stays fast.
"""

from __future__ import annotations

import importlib
import pkgutil

import typer


def register_all(app: typer.Typer) -> None:
    for module in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        importlib.import_module(f"{__name__}.{module.name}").register(app)

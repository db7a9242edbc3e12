"""Monthly exchange rates the generator invents and writes, so conversions are checkable."""

from __future__ import annotations

import random

# dollars for one unit, at the start of the simulation
BASE_USD = {"usd": 1.0, "eur": 1.08, "gbp": 1.27, "cad": 0.74}


def usd_rates(seed: int, months: int) -> dict[str, list[float]]:
    """Per currency, `months` monthly rates in usd: a seeded random walk (1.5% a month)."""
    rng = random.Random(seed * 7_919 + 11)
    walk: dict[str, list[float]] = {currency: [] for currency in BASE_USD}
    value = dict(BASE_USD)
    for _ in range(months):  # month by month, so a longer run extends a shorter one
        for currency in BASE_USD:
            walk[currency].append(round(value[currency], 6))
            if currency != "usd":
                value[currency] *= 1.0 + rng.gauss(0.0, 0.015)
    return walk


def reporting_rates(seed: int, months: int, reporting: str) -> dict[str, list[float]]:
    """Units of `reporting` for one unit of each currency, month by month."""
    usd = usd_rates(seed, months)
    if reporting not in usd:
        raise ValueError(f"reporting currency {reporting!r} is not one of {sorted(usd)}")
    return {
        currency: [round(a / b, 8) for a, b in zip(series, usd[reporting], strict=True)]
        for currency, series in usd.items()
    }

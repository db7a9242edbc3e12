"""PNG charts of a close: NRR/GRR trend with benchmark bands, cohort heatmap, waterfall.

Built with matplotlib's object API (no pyplot, no global backend state), rendered by Agg at a
fixed size so a chart is always the same number of pixels (Slack previews and the HTML
report lay out predictably). Files are written to a temporary name and moved into place.
"""

from __future__ import annotations

import csv
import math
import os
from datetime import date
from functools import cache
from pathlib import Path

from matplotlib.colors import TwoSlopeNorm
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, PercentFormatter

from nrr import metrics
from nrr.reporting.figures import Figures

DPI = 100
TREND_SIZE = (1200, 800)
HEATMAP_SIZE = (1200, 900)
WATERFALL_SIZE = (1000, 600)
HEATMAP_COHORTS = 24
HEATMAP_AGES = 24
BAND_COLOURS = {
    "excellent": "#1a9850",
    "best-in-class": "#1a9850",
    "healthy": "#91cf60",
    "good": "#91cf60",
    "acceptable": "#fee08b",
    "concerning": "#fc8d59",
    "problematic": "#d73027",
    "serious": "#d73027",
}


@cache
def company_bands() -> dict[str, list[tuple[str, float | None, float | None]]]:
    """(band, lower, upper) for company NRR and any-scope GRR, from the benchmark seed."""
    path = Path(metrics.__file__).parent / "seeds" / "benchmark_bands.csv"
    bands: dict[str, list[tuple[str, float | None, float | None]]] = {"nrr": [], "grr": []}
    with path.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            if (row["scope"], row["metric"]) in (("company", "nrr"), ("any", "grr")):
                bands[row["metric"]].append(
                    (row["band"], _bound(row["lower_bound"]), _bound(row["upper_bound"]))
                )
    return bands


def _bound(text: str) -> float | None:
    return float(text) if text.strip() else None


def trend_chart(figures: Figures, path: Path) -> Path:
    """T12M NRR (top) and GRR (bottom) over the last 24 months on their benchmark bands."""
    fig = _figure(TREND_SIZE)
    axes = fig.subplots(2, 1, sharex=True)
    points = [p for p in figures.trend if p["as_of"] <= figures.as_of]
    months = [p["as_of"] for p in points]
    for ax, metric, colour in ((axes[0], "nrr", "#08306b"), (axes[1], "grr", "#3f007d")):
        values = [p[metric] for p in points]
        known = [v for v in values if v is not None]
        low = min([*known, 1.0 if metric == "nrr" else 0.85]) - 0.05
        high = max([*known, 1.2 if metric == "nrr" else 0.9]) + 0.05
        for band, lower, upper in company_bands()[metric]:
            bottom = lower if lower is not None else low
            top = upper if upper is not None else high
            ax.axhspan(bottom, top, color=BAND_COLOURS.get(band, "#dddddd"), alpha=0.18, lw=0)
            mid = (max(bottom, low) + min(top, high)) / 2
            if low < mid < high:
                ax.text(
                    1.005,
                    mid,
                    band,
                    transform=ax.get_yaxis_transform(),
                    va="center",
                    fontsize=9,
                    color="#444444",
                )
        ax.plot(
            months,
            [math.nan if v is None else v for v in values],
            color=colour,
            lw=2.2,
            marker="o",
            ms=3.5,
        )
        if known and values[-1] is not None:
            ax.annotate(
                f"{values[-1] * 100:.1f}%",
                (months[-1], values[-1]),
                textcoords="offset points",
                xytext=(0, 8),
                ha="center",
                fontsize=10,
                fontweight="bold",
                color=colour,
            )
        ax.set_ylim(low, high)
        ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
        ax.set_ylabel(f"{metric.upper()}, trailing 12 months")
        ax.grid(axis="y", alpha=0.3)
    axes[1].xaxis.set_major_formatter(FuncFormatter(_month_label(months)))
    fig.suptitle(f"Revenue retention to {figures.as_of:%B %Y} ({figures.currency.upper()})")
    fig.subplots_adjust(left=0.08, right=0.88, top=0.93, bottom=0.07, hspace=0.08)
    return _save(fig, path)


def _month_label(months: list[date]):
    from matplotlib.dates import num2date

    def label(value: float, _pos: int) -> str:
        return f"{num2date(value):%b %y}"

    return label


def cohort_heatmap(matrix: list[tuple[date, int, float | None]], period: date, path: Path) -> Path:
    """NRR of the last 24 acquisition cohorts (rows) by age in months (columns)."""
    fig = _figure(HEATMAP_SIZE)
    ax = fig.add_subplot()
    cohorts = sorted({c for c, _, _ in matrix if c <= period})[-HEATMAP_COHORTS:]
    if not cohorts:
        ax.text(0.5, 0.5, "No acquisition cohorts yet", ha="center", va="center")
        ax.set_axis_off()
        return _save(fig, path)
    row = {c: i for i, c in enumerate(cohorts)}
    grid = [[math.nan] * (HEATMAP_AGES + 1) for _ in cohorts]
    for cohort, age, nrr in matrix:
        if cohort in row and 0 <= age <= HEATMAP_AGES and nrr is not None:
            grid[row[cohort]][age] = nrr
    image = ax.imshow(
        grid,
        aspect="auto",
        cmap="RdYlGn",
        norm=TwoSlopeNorm(vcenter=1.0, vmin=0.6, vmax=1.4),
        interpolation="nearest",
    )
    ax.set_yticks(range(len(cohorts)), [f"{c:%Y-%m}" for c in cohorts], fontsize=8)
    ax.set_xticks(range(0, HEATMAP_AGES + 1, 3))
    ax.set_xlabel("Age (months since first revenue)")
    ax.set_ylabel("Acquisition cohort")
    ax.set_title(f"Cohort NRR by age, as of {period:%B %Y}")
    bar = fig.colorbar(image, ax=ax, fraction=0.04, pad=0.02)
    bar.ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    fig.subplots_adjust(left=0.1, right=0.93, top=0.94, bottom=0.07)
    return _save(fig, path)


def waterfall_chart(figures: Figures, path: Path) -> Path:
    """Start 100%, minus contraction, minus churn, plus expansion = NRR (headline window)."""
    fig = _figure(WATERFALL_SIZE)
    ax = fig.add_subplot()
    steps = figures.waterfall
    if not steps:
        ax.text(0.5, 0.5, "No cohort in this window", ha="center", va="center")
        ax.set_axis_off()
        return _save(fig, path)
    labels, bottoms, heights, colours = [], [], [], []
    for step, change, level in steps:
        labels.append(step.capitalize() if step != "nrr" else "NRR")
        if step in ("start", "nrr"):
            bottoms.append(0.0)
            heights.append(level)
            colours.append("#4c72b0")
        else:
            bottoms.append(min(level, level - change))
            heights.append(abs(change))
            colours.append("#55a868" if change >= 0 else "#c44e52")
    ax.bar(labels, heights, bottom=bottoms, color=colours, width=0.6)
    for i, (step, change, level) in enumerate(steps):
        text = f"{level * 100:.1f}%" if step in ("start", "nrr") else f"{change * 100:+.1f} pts"
        ax.text(i, bottoms[i] + heights[i] + 0.01, text, ha="center", fontsize=10)
    top = max(b + h for b, h in zip(bottoms, heights, strict=True))
    floor = min([*bottoms[1:-1], 1.0])
    ax.set_ylim(max(0.0, floor - 0.15), top + 0.08)
    ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    ax.set_title(f"NRR waterfall, trailing 12 months to {figures.as_of:%B %Y}")
    ax.grid(axis="y", alpha=0.3)
    fig.subplots_adjust(left=0.08, right=0.98, top=0.9, bottom=0.1)
    return _save(fig, path)


def _figure(size: tuple[int, int]) -> Figure:
    return Figure(figsize=(size[0] / DPI, size[1] / DPI), dpi=DPI)


def _save(fig: Figure, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    fig.savefig(tmp, format="png", dpi=DPI)
    os.replace(tmp, path)
    return path

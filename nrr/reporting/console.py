"""Render `Figures` as rich tables for the terminal (`nrr report`)."""

from __future__ import annotations

from rich.console import Console, Group
from rich.table import Table

from nrr.reporting.figures import CURVE_AGES, Figures
from nrr.reporting.format import band_label, money, pct, points


def render(figures: Figures) -> Group:
    """All report sections as one renderable group."""
    return Group(
        _headline(figures),
        _periods(figures),
        _waterfall(figures),
        _bridge(figures),
        _segments(figures),
        _cohorts(figures),
    )


def print_report(figures: Figures, console: Console | None = None) -> None:
    (console or Console()).print(render(figures))


def _headline(f: Figures) -> Table:
    h = f.headline
    title = (
        f"Revenue retention, trailing 12 months to {f.as_of:%B %Y} "
        f"({f.currency.upper()}, reactivations {f.reactivation_policy}d)"
    )
    table = Table(title=title, title_justify="left")
    for column in ("metric", "value", "band", "vs last month"):
        table.add_column(column)
    prev = f.previous_headline
    nrr_delta = h.nrr - prev.nrr if prev and prev.nrr is not None and h.nrr is not None else None
    grr_delta = h.grr - prev.grr if prev and prev.grr is not None and h.grr is not None else None
    table.add_row("NRR", pct(h.nrr), band_label(h.benchmark_band), points(nrr_delta))
    table.add_row("GRR", pct(h.grr), band_label(h.grr_band), points(grr_delta))
    table.add_row("Cohort", f"{h.cohort_customers:,} customers", money(h.start_mrr, f.currency), "")
    table.add_row("Logo retention", pct(h.logo_retention), "", "")
    table.add_row(
        "Reactivated MRR (outside NRR)"
        if f.reactivation_policy == "exclude"
        else "Reactivated MRR (inside NRR)",
        money(h.reactivated_mrr, f.currency),
        "",
        "",
    )
    return table


def _periods(f: Figures) -> Table:
    table = Table(title="Monthly and quarterly", title_justify="left")
    for column in ("window", "NRR", "annualised", "GRR", "expansion", "contraction", "churn"):
        table.add_column(column, justify="right" if column != "window" else "left")
    for label, w in (
        ("last month", f.monthly),
        ("last quarter", f.quarterly),
        ("trailing 12 months", f.headline),
    ):
        table.add_row(
            label,
            pct(w.nrr),
            pct(w.nrr_annualised),
            pct(w.grr),
            money(w.expansion, f.currency),
            money(w.contraction, f.currency),
            money(w.churn, f.currency),
        )
    return table


def _waterfall(f: Figures) -> Table:
    table = Table(title="NRR waterfall (trailing 12 months)", title_justify="left")
    table.add_column("step")
    table.add_column("change", justify="right")
    table.add_column("level", justify="right")
    for step, change, level in f.waterfall:
        shown = pct(change) if step in ("start", "nrr") else f"{change * 100:+.1f}%"
        table.add_row(step, shown, pct(level))
    return table


def _bridge(f: Figures) -> Table:
    table = Table(title=f"MRR bridge, {f.as_of:%B %Y}", title_justify="left")
    table.add_column("line")
    table.add_column("amount", justify="right")
    b = f.bridge
    for label, key, sign in (
        ("opening MRR", "opening_mrr", 1),
        ("+ new", "new", 1),
        ("+ reactivation", "reactivation", 1),
        ("+ expansion", "expansion", 1),
        ("- contraction", "contraction", -1),
        ("- churn", "churn", -1),
        ("+ FX adjustment", "fx_adjustment", 1),
        ("closing MRR", "closing_mrr", 1),
    ):
        table.add_row(label, money(sign * b.get(key, 0.0), f.currency, compact=False))
    kinds = f.churn_by_kind
    table.add_row(
        "churn by kind (12 months)",
        f"voluntary {money(kinds['voluntary'], f.currency)} / "
        f"involuntary {money(kinds['involuntary'], f.currency)} / "
        f"unknown {money(kinds['unknown'], f.currency)}",
    )
    return table


def _segments(f: Figures) -> Table:
    table = Table(
        title="Segments (trailing 12 months, segment as of window start)", title_justify="left"
    )
    for column in (
        "dimension",
        "segment",
        "customers",
        "start MRR",
        "NRR",
        "band",
        "GRR",
        "GRR band",
    ):
        table.add_column(
            column,
            justify="right" if column in ("customers", "start MRR", "NRR", "GRR") else "left",
        )
    for s in f.segments:
        table.add_row(
            s.dimension,
            s.segment,
            f"{s.cohort_customers:,}",
            money(s.start_mrr, f.currency),
            pct(s.nrr),
            band_label(s.benchmark_band),
            pct(s.grr),
            band_label(s.grr_band),
        )
    return table


def _cohorts(f: Figures) -> Table:
    table = Table(title="Acquisition cohorts: NRR / GRR by age", title_justify="left")
    table.add_column("cohort")
    table.add_column("customers", justify="right")
    table.add_column("start MRR", justify="right")
    for age in CURVE_AGES:
        table.add_column(f"month {age}", justify="right")
    for curve in f.cohorts:
        cells = [
            f"{pct(curve.nrr[age], 0)} / {pct(curve.grr[age], 0)}" if age in curve.nrr else ""
            for age in CURVE_AGES
        ]
        table.add_row(
            f"{curve.cohort_month:%Y-%m}",
            f"{curve.customers:,}",
            money(curve.start_mrr, f.currency),
            *cells,
        )
    return table

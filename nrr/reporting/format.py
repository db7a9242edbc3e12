"""Numbers for people: 113.2%, $1.2M, +2.1 pts. One place, so every channel agrees."""

from __future__ import annotations

CURRENCY_SYMBOLS = {"usd": "$", "eur": "€", "gbp": "£", "jpy": "¥", "cad": "CA$", "aud": "A$"}


def pct(value: float | None, digits: int = 1) -> str:
    """113.2% for 1.132; 'n/a' for a window without a cohort."""
    if value is None:
        return "n/a"
    return f"{value * 100:.{digits}f}%"


def points(delta: float | None) -> str:
    """Change between two fractions in percentage points, signed: +2.1 pts."""
    if delta is None:
        return "n/a"
    return f"{delta * 100:+.1f} pts"


def money(value: float | None, currency: str = "usd", *, compact: bool = True) -> str:
    """$1.2M / $12.3K / $950 in compact form, $1,234,567.89 otherwise."""
    if value is None:
        return "n/a"
    symbol = CURRENCY_SYMBOLS.get(currency.lower())
    sign = "-" if value < 0 else ""
    amount = abs(value)
    if compact:
        for threshold, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "K")):
            if amount >= threshold:
                text = f"{amount / threshold:.1f}{suffix}"
                break
        else:
            text = f"{amount:,.0f}"
    else:
        text = f"{amount:,.2f}"
    if symbol:
        return f"{sign}{symbol}{text}"
    return f"{sign}{text} {currency.upper()}"


def band_label(band: str | None) -> str:
    return band or "n/a"

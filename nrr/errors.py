"""User-facing errors: each one is a clear sentence the command line prints without a traceback."""

from __future__ import annotations

from dataclasses import dataclass


def first_line(exc: BaseException) -> str:
    """An exception's message in one line (library errors can span many), or its type."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


class NrrError(Exception):
    """A problem the user can fix (bad input, missing configuration), not a bug."""


@dataclass(frozen=True)
class BadRow:
    """One rejected input row: where it is and why it was rejected."""

    file: str
    row: int
    reason: str

    def __str__(self) -> str:
        return f"{self.file}, row {self.row}: {self.reason}"


class LedgerError(NrrError):
    """The revenue ledger cannot be used as it is; nothing was written."""

    def __init__(self, message: str, bad_rows: list[BadRow] | None = None, total_bad: int = 0):
        self.bad_rows = bad_rows or []
        self.total_bad = total_bad or len(self.bad_rows)
        super().__init__(message)

    def details(self, limit: int = 20) -> list[str]:
        lines = [str(row) for row in self.bad_rows[:limit]]
        if self.total_bad > limit:
            lines.append(f"... and {self.total_bad - limit} more bad rows")
        return lines


class FxRateError(NrrError):
    """An amount needs an exchange rate that the rates file does not give."""


class BridgeError(NrrError):
    """The MRR bridge does not reconcile: opening + movements differs from closing."""

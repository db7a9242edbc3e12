"""A lock that serialises everything that writes the warehouse (compute, publish).

DuckDB lets one process write a database file at a time; two monthly closes started
together must not both publish, so the second one waits for the first, then finds the
month already published and writes nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from filelock import FileLock, Timeout

from nrr.errors import NrrError
from nrr.settings import Settings


@contextmanager
def warehouse_lock(settings: Settings, timeout: float = 900.0) -> Iterator[None]:
    lock_path = settings.data_dir / ".locks" / "warehouse.lock"
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(lock_path), timeout=timeout)
    try:
        with lock:
            yield
    except Timeout:
        raise NrrError(
            f"another run has held the warehouse lock {lock_path} for over {timeout:.0f}s; "
            "wait for it to finish (or remove the lock file if no run is alive)"
        ) from None

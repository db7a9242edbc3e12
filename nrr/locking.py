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

_LOCKS: dict[str, FileLock] = {}


@contextmanager
def warehouse_lock(settings: Settings, timeout: float = 900.0) -> Iterator[None]:
    """Hold the data directory's warehouse lock; re-entrant within a thread.

    Another process (or thread) waits up to `timeout` seconds, then gets a clear error.
    """
    lock_path = (settings.data_dir / ".locks" / "warehouse.lock").resolve()
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    lock = _LOCKS.setdefault(str(lock_path), FileLock(str(lock_path), thread_local=True))
    try:
        with lock.acquire(timeout=timeout):
            yield
    except Timeout:
        raise NrrError(
            f"another run has held the warehouse lock {lock_path} for over {timeout:.0f}s; "
            "wait for it to finish (or remove the lock file if no run is alive)"
        ) from None

"""Write files so that a reader only ever sees a complete old or a complete new version.

Write to a temporary file in the same directory, flush it to disk, then `os.replace` it
over the target: on POSIX the rename is atomic, so a crash leaves either the old file or
the new one, never half of one. Temporary files carry a `.tmp` suffix that no reader globs.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

TMP_SUFFIX = ".tmp"


@contextlib.contextmanager
def replacing(target: Path) -> Iterator[Path]:
    """Yield a temporary path; on success it replaces `target`, on error it disappears."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=TMP_SUFFIX, dir=target.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        _fsync(tmp)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def _fsync(path: Path) -> None:
    with open(path, "rb") as handle:
        os.fsync(handle.fileno())


def write_bytes(target: Path, data: bytes) -> None:
    with replacing(target) as tmp:
        tmp.write_bytes(data)


def write_parquet(target: Path, table: pa.Table) -> None:
    with replacing(target) as tmp:
        pq.write_table(table, tmp, compression="zstd")


def write_with(target: Path, writer: Callable[[Path], None]) -> None:
    """Let `writer` fill a temporary path (e.g. DuckDB's COPY), then swap it in."""
    with replacing(target) as tmp:
        writer(tmp)

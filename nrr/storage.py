"""One storage layer for the lake, staging and report files.

Local directories today; paths are handled as fsspec URLs so that an object-store URI
(`s3://bucket/nrr`, `gs://...`) can later replace the data directory for the Parquet lake
and staging files. What is supported where is listed in docs/orchestration.md: the DuckDB
warehouse itself must stay on a local disk (DuckDB writes its file in place).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import fsspec
import pyarrow as pa
import pyarrow.parquet as pq


def is_local(location: str | Path) -> bool:
    return "://" not in str(location) or str(location).startswith("file://")


def filesystem(location: str | Path) -> tuple[fsspec.AbstractFileSystem, str]:
    """The fsspec filesystem and in-filesystem path of a local path or URL."""
    fs, path = fsspec.core.url_to_fs(str(location))
    return fs, path


def join(location: str | Path, *parts: str) -> str:
    base = str(location).rstrip("/")
    return "/".join([base, *parts])


@contextmanager
def atomic_directory(target: str | Path) -> Iterator[Path]:
    """Build a directory next to `target` and move it into place only when complete.

    Readers never see a half-written directory: either the old one or the new one.
    """
    if not is_local(target):
        raise NotImplementedError("atomic directories are only supported on local disks")
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        yield staging
        if target.exists():
            retired = target.with_name(f".{target.name}.old-{uuid.uuid4().hex[:8]}")
            os.replace(target, retired)
            os.replace(staging, target)
            shutil.rmtree(retired, ignore_errors=True)
        else:
            os.replace(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def write_parquet_atomic(table: pa.Table, target: str | Path) -> str:
    """Write a Parquet file so that a crash never leaves a partial file under its name."""
    fs, path = filesystem(target)
    parent = path.rsplit("/", 1)[0]
    fs.makedirs(parent, exist_ok=True)
    temporary = f"{parent}/.{path.rsplit('/', 1)[-1]}.{uuid.uuid4().hex[:8]}.tmp"
    with fs.open(temporary, "wb") as handle:
        pq.write_table(table, handle)
    fs.mv(temporary, path)
    return str(target)

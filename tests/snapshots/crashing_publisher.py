"""Publish a staged month in a process that dies mid-transaction (used by test_store.py).

Usage: python crashing_publisher.py DATA_DIR STAGED_DIR
"""

import os
import sys

import duckdb

from nrr.settings import Settings
from nrr.snapshots import store

real_connect = duckdb.connect


class DyingConnection:
    """A connection whose process dies right after the first figures are inserted."""

    def __init__(self, *args, **kwargs):
        self._con = real_connect(*args, **kwargs)

    def execute(self, sql, *args):
        result = self._con.execute(sql, *args)
        if sql.startswith("insert into snapshot_metrics"):
            os._exit(17)  # killed inside the transaction: neither rollback nor commit
        return result

    def __getattr__(self, name):
        return getattr(self._con, name)


if __name__ == "__main__":
    store.duckdb.connect = DyingConnection
    store.publish_staged_month(Settings(data_dir=sys.argv[1]), sys.argv[2])

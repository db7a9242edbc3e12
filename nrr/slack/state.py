"""Idempotency keys and delivery state, in a small SQLite file under the data directory.

A message is stored once per (idempotency key, destination) with its rendered payload, so a
re-run re-sends exactly what was first rendered. Transitions are single transactions
(`BEGIN IMMEDIATE`): only one run can claim a message for sending, and only the claimer can
record the outcome.

    pending ──claim──▶ sending ──▶ delivered
       ▲                  │──────▶ pending    (not sent: connection refused, 429 exhausted)
       │                  │──────▶ in_doubt   (maybe sent: timeout, 5xx; check before resend)
       └──────────────────┴──────▶ failed     (configuration: bad token, unknown channel)

A `sending` row older than the lease (a crashed run) is treated as `in_doubt`. Once an
attempt may have landed, `maybe_posted` stays set until the message is confirmed, so a
later failure of the history check never turns into a blind re-post.
"""

from __future__ import annotations

import hashlib
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from nrr.slack.message import Message

STATE_FILE = "notifications.sqlite"
RETRYABLE = ("pending", "in_doubt", "failed")

_SCHEMA = """
create table if not exists deliveries (
    key text not null,
    destination text not null,
    kind text not null,
    period text not null,
    payload text not null,
    status text not null
        check (status in ('pending', 'sending', 'in_doubt', 'delivered', 'failed')),
    attempts integer not null default 0,
    created_at real not null,
    first_attempt_at real,
    last_attempt_at real,
    delivered_at real,
    channel_id text,
    ts text,
    error text,
    maybe_posted integer not null default 0,
    primary key (key, destination)
);
create table if not exists destinations (
    destination text primary key,
    channel_id text not null
);
"""


def summary_key(period: date, version: int) -> str:
    return f"{period:%Y-%m}/summary/v{version}"


def charts_key(period: date, version: int) -> str:
    return f"{summary_key(period, version)}/charts"


def alert_key(period: date, version: int, rule: str) -> str:
    return f"{period:%Y-%m}/alert/v{version}/{rule}"


def failed_key(period: date, run_id: str) -> str:
    """One failure alert per flow run, however often its failure hooks fire."""
    return f"{period:%Y-%m}/failed/{run_id}"


def blocked_key(period: date, failing: list[tuple[str, str]]) -> str:
    """Same failing checks -> same key (a re-run of a blocked close does not post again);
    a different set of failures is news and gets a new key."""
    digest = hashlib.sha256("\n".join(sorted(f"{e}|{d}" for e, d in failing)).encode())
    return f"{period:%Y-%m}/blocked/{digest.hexdigest()[:12]}"


@dataclass
class Delivery:
    """One stored message and where its delivery stands."""

    key: str
    destination: str
    kind: str
    period: str
    message: Message
    status: str
    attempts: int
    created_at: float
    first_attempt_at: float | None
    last_attempt_at: float | None
    channel_id: str | None
    ts: str | None
    error: str | None


@dataclass
class Claim:
    """The right to send one message now; `in_doubt` says an earlier attempt may have landed."""

    delivery: Delivery
    in_doubt: bool


class DeliveryState:
    """The SQLite file: open per operation, so runs in other processes see every change."""

    def __init__(self, path: Path, *, lease_seconds: float = 300.0):
        self.path = path
        self.lease_seconds = lease_seconds
        path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as con:
            con.executescript(_SCHEMA)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        con = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        con.row_factory = sqlite3.Row
        try:
            con.execute("pragma journal_mode = wal")
            yield con
        finally:
            con.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._connect() as con:
            con.execute("begin immediate")
            try:
                yield con
            except BaseException:
                con.execute("rollback")
                raise
            con.execute("commit")

    def enqueue(self, message: Message, destination: str) -> Delivery:
        """Store the message for `destination` unless that key is already there."""
        with self._transaction() as con:
            con.execute(
                """insert or ignore into deliveries
                   (key, destination, kind, period, payload, status, created_at)
                   values (?, ?, ?, ?, ?, 'pending', ?)""",
                [
                    message.key,
                    destination,
                    message.kind,
                    message.period,
                    message.to_json(),
                    time.time(),
                ],
            )
        found = self.get(message.key, destination)
        assert found is not None
        return found

    def get(self, key: str, destination: str) -> Delivery | None:
        with self._connect() as con:
            row = con.execute(
                "select * from deliveries where key = ? and destination = ?", [key, destination]
            ).fetchone()
        return _delivery(row) if row else None

    def undelivered(self, destination: str | None = None) -> list[Delivery]:
        """Messages not yet delivered, oldest first (all destinations when None)."""
        query = "select * from deliveries where status <> 'delivered'"
        args: list[str] = []
        if destination is not None:
            query += " and destination = ?"
            args.append(destination)
        with self._connect() as con:
            rows = con.execute(query + " order by rowid", args).fetchall()
        return [_delivery(row) for row in rows]

    def claim(self, key: str, destination: str) -> Claim | None:
        """Atomically move a retryable message to `sending`; None when it is delivered or a
        live run is sending it."""
        now = time.time()
        with self._transaction() as con:
            row = con.execute(
                "select * from deliveries where key = ? and destination = ?", [key, destination]
            ).fetchone()
            if row is None:
                return None
            stale = row["status"] == "sending" and (
                row["last_attempt_at"] is None or row["last_attempt_at"] < now - self.lease_seconds
            )
            if row["status"] not in RETRYABLE and not stale:
                return None
            con.execute(
                """update deliveries set status = 'sending', attempts = attempts + 1,
                       first_attempt_at = coalesce(first_attempt_at, ?), last_attempt_at = ?,
                       maybe_posted = maybe_posted or ?
                   where key = ? and destination = ?""",
                [now, now, stale, key, destination],
            )
            delivery = _delivery(row)
        in_doubt = stale or delivery.status == "in_doubt" or bool(row["maybe_posted"])
        return Claim(delivery=delivery, in_doubt=in_doubt)

    def finish(
        self,
        key: str,
        destination: str,
        status: str,
        *,
        error: str | None = None,
        channel_id: str | None = None,
        ts: str | None = None,
    ) -> None:
        """Record the outcome of a claimed send (only a `sending` row moves)."""
        with self._transaction() as con:
            con.execute(
                """update deliveries set status = ?, error = ?,
                       maybe_posted = maybe_posted or ? = 'in_doubt',
                       channel_id = coalesce(?, channel_id), ts = coalesce(?, ts),
                       delivered_at = case when ? = 'delivered' then ? else delivered_at end
                   where key = ? and destination = ? and status = 'sending'""",
                [status, error, status, channel_id, ts, status, time.time(), key, destination],
            )

    def channel_id(self, destination: str) -> str | None:
        with self._connect() as con:
            row = con.execute(
                "select channel_id from destinations where destination = ?", [destination]
            ).fetchone()
        return row["channel_id"] if row else None

    def remember_channel(self, destination: str, channel_id: str) -> None:
        with self._transaction() as con:
            con.execute(
                "insert or replace into destinations (destination, channel_id) values (?, ?)",
                [destination, channel_id],
            )


def _delivery(row: sqlite3.Row) -> Delivery:
    return Delivery(
        key=row["key"],
        destination=row["destination"],
        kind=row["kind"],
        period=row["period"],
        message=Message.from_json(row["payload"]),
        status=row["status"],
        attempts=row["attempts"],
        created_at=row["created_at"],
        first_attempt_at=row["first_attempt_at"],
        last_attempt_at=row["last_attempt_at"],
        channel_id=row["channel_id"],
        ts=row["ts"],
        error=row["error"],
    )

"""Durable event store (SQLite, WAL): accepted events, their deliveries, every attempt.

At-least-once starts here: an event and one pending delivery per matching trigger
are committed together before the broker answers 202; deliveries still pending
when the platform stops are picked up again when it starts. One writer thread
owns the connection and commits whatever has queued up in one transaction
(group commit), so concurrent ingress does not pay one commit each.
"""

from __future__ import annotations

import json
import queue
import sqlite3
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    namespace TEXT NOT NULL, broker TEXT NOT NULL,
    id TEXT NOT NULL, source TEXT NOT NULL, type TEXT NOT NULL,
    attributes TEXT NOT NULL, data BLOB, accepted_at REAL NOT NULL, origin TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS deliveries (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    event_seq INTEGER NOT NULL REFERENCES events(seq), trigger TEXT NOT NULL,
    state TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,
    last_status INTEGER, last_error TEXT, updated_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS deliveries_pending ON deliveries(state) WHERE state = 'pending';
CREATE TABLE IF NOT EXISTS attempts (
    delivery_id INTEGER NOT NULL, attempt INTEGER NOT NULL, destination TEXT NOT NULL,
    status INTEGER, error TEXT, duration_ms REAL NOT NULL, at REAL NOT NULL
);
"""


@dataclass(frozen=True)
class StoredEvent:
    seq: int
    namespace: str
    broker: str
    attributes: dict[str, str]
    data: bytes


@dataclass(frozen=True)
class PendingDelivery:
    id: int
    trigger: str
    attempts: int
    event: StoredEvent


class EventStore:
    """Thread-safe; every write goes through one writer thread, batched."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._writes: queue.Queue[tuple[Callable[[sqlite3.Connection], Any], Future] | None] = (
            queue.Queue()
        )
        self._ready = threading.Event()
        self._writer = threading.Thread(target=self._write_loop, name="event-store", daemon=True)
        self._writer.start()
        self._ready.wait()

    def _connect(self) -> sqlite3.Connection:
        connection = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=NORMAL")  # survives a process kill, not power loss
        connection.execute("PRAGMA busy_timeout=5000")
        return connection

    def _write_loop(self) -> None:
        connection = self._connect()
        connection.executescript(_SCHEMA)
        self._ready.set()
        while True:
            first = self._writes.get()
            if first is None:
                break
            batch = [first]
            while len(batch) < 512:
                try:
                    item = self._writes.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    self._writes.put(None)
                    break
                batch.append(item)
            results: list[tuple[Future, Any, BaseException | None]] = []
            connection.execute("BEGIN")
            for operation, future in batch:
                try:
                    results.append((future, operation(connection), None))
                except sqlite3.Error as error:
                    results.append((future, None, error))
            connection.execute("COMMIT")
            for future, result, error in results:
                if future.cancelled():  # the caller went away (shutdown); the data is committed
                    continue
                if error is None:
                    future.set_result(result)
                else:
                    future.set_exception(error)
        connection.close()

    def _submit(self, operation: Callable[[sqlite3.Connection], Any]) -> Future:
        future: Future = Future()
        self._writes.put((operation, future))
        return future

    def close(self) -> None:
        self._writes.put(None)
        self._writer.join(10)

    # --- writes (each returns a Future, resolved once committed) --------------------------

    def accept(
        self,
        namespace: str,
        broker: str,
        attributes: dict[str, str],
        data: bytes,
        triggers: list[str],
        origin: str,
    ) -> Future:
        """Persist an accepted event with one pending delivery per trigger.

        Resolves to the event's seq and its (delivery id, trigger) pairs.
        """

        def operation(connection: sqlite3.Connection) -> tuple[int, list[tuple[int, str]]]:
            now = time.time()
            cursor = connection.execute(
                "INSERT INTO events (namespace, broker, id, source, type, attributes, data, "
                "accepted_at, origin) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    namespace,
                    broker,
                    attributes["id"],
                    attributes["source"],
                    attributes["type"],
                    json.dumps(attributes),
                    data,
                    now,
                    origin,
                ),
            )
            seq = cursor.lastrowid
            created = []
            for trigger in triggers:
                row = connection.execute(
                    "INSERT INTO deliveries (event_seq, trigger, state, updated_at) "
                    "VALUES (?, ?, 'pending', ?)",
                    (seq, trigger, now),
                )
                created.append((row.lastrowid, trigger))
            return seq, created

        return self._submit(operation)

    def record_attempt(
        self,
        delivery_id: int,
        attempt: int,
        destination: str,
        status: int | None,
        error: str | None,
        duration_ms: float,
        final_state: str | None,
    ) -> Future:
        """Log one attempt; with ``final_state`` also close the delivery."""

        def operation(connection: sqlite3.Connection) -> None:
            now = time.time()
            connection.execute(
                "INSERT INTO attempts VALUES (?, ?, ?, ?, ?, ?, ?)",
                (delivery_id, attempt, destination, status, error, duration_ms, now),
            )
            connection.execute(
                "UPDATE deliveries SET attempts = ?, last_status = ?, last_error = ?, "
                "state = COALESCE(?, state), updated_at = ? WHERE id = ?",
                (attempt, status, error, final_state, now, delivery_id),
            )

        return self._submit(operation)

    # --- reads (a short-lived connection of their own: WAL lets them run beside writes) ---

    def _read(self, sql: str, parameters: tuple = ()) -> list[sqlite3.Row]:
        connection = sqlite3.connect(self.path)
        connection.row_factory = sqlite3.Row
        try:
            return connection.execute(sql, parameters).fetchall()
        finally:
            connection.close()

    def pending(self) -> list[PendingDelivery]:
        """Deliveries not yet finished, oldest first: the work a restart resumes."""
        rows = self._read(
            "SELECT d.id, d.trigger, d.attempts, e.seq, e.namespace, e.broker, e.attributes, "
            "e.data FROM deliveries d JOIN events e ON e.seq = d.event_seq "
            "WHERE d.state = 'pending' ORDER BY d.id"
        )
        return [
            PendingDelivery(
                row["id"],
                row["trigger"],
                row["attempts"],
                StoredEvent(
                    row["seq"],
                    row["namespace"],
                    row["broker"],
                    json.loads(row["attributes"]),
                    row["data"] or b"",
                ),
            )
            for row in rows
        ]

    def events(self, after: int = 0, event_type: str | None = None, limit: int = 200) -> list[dict]:
        """Accepted events with their deliveries' states, for ``binks events``."""
        sql = "SELECT * FROM events WHERE seq > ?"
        parameters: tuple = (after,)
        if event_type:
            sql += " AND type = ?"
            parameters += (event_type,)
        rows = self._read(sql + " ORDER BY seq LIMIT ?", (*parameters, limit))
        if not rows:
            return []
        seqs = tuple(row["seq"] for row in rows)
        marks = ",".join("?" * len(seqs))
        deliveries: dict[int, list[dict]] = {}
        for row in self._read(
            f"SELECT event_seq, trigger, state, attempts, last_status, last_error FROM deliveries "
            f"WHERE event_seq IN ({marks}) ORDER BY id",
            seqs,
        ):
            deliveries.setdefault(row["event_seq"], []).append(
                {k: row[k] for k in ("trigger", "state", "attempts", "last_status", "last_error")}
            )
        return [
            {
                "seq": row["seq"],
                "broker": f"{row['namespace']}/{row['broker']}",
                "origin": row["origin"],
                "accepted_at": row["accepted_at"],
                "attributes": json.loads(row["attributes"]),
                "data": (row["data"] or b"").decode("utf-8", "replace"),
                "deliveries": deliveries.get(row["seq"], []),
            }
            for row in rows
        ]

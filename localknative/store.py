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
from collections.abc import Callable, Iterator, Mapping
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

    def events(self, query: EventQuery) -> dict[str, Any]:
        """One page of accepted events with their deliveries' states (``binks events``).

        Memory is bounded by the page, not the store: at most ``query.limit`` rows, data
        only when asked and cut to ``query.data_bytes`` by SQLite itself, and the page
        ends early once the data in it passes :data:`PAGE_DATA_BUDGET`. ``next`` is the
        cursor of the following page (``after`` ascending, ``before`` descending).
        """
        rows = self._read(*query.sql())
        page: list[dict[str, Any]] = []
        spent = 0
        for row in rows:
            if page and spent >= PAGE_DATA_BUDGET:
                break
            page.append(_event_row(row, query.data))
            spent += len(row["head"] or b"") + len(row["attributes"])
        more = len(page) < len(rows) or len(rows) > query.limit
        page = page[: query.limit]
        self._attach_deliveries(page)
        next_cursor = page[-1]["seq"] if page else None
        return {"events": page, "next": next_cursor, "more": more}

    def _attach_deliveries(self, page: list[dict[str, Any]]) -> None:
        if not page:
            return
        seqs = tuple(row["seq"] for row in page)
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
        for event in page:
            event["deliveries"] = deliveries.get(event["seq"], [])

    def data_chunks(self, seq: int, chunk: int = 64 * 1024) -> Iterator[bytes]:
        """One event's data in chunks, read from the database incrementally (a blob
        handle), never whole; LookupError at the first ``next()`` if there is no event.

        Each ``next()`` may run on another worker thread (``asyncio.to_thread``); they never
        overlap, so the connection may cross threads."""
        connection = sqlite3.connect(self.path, check_same_thread=False)
        try:
            row = connection.execute(
                "SELECT rowid, length(data) FROM events WHERE seq = ?", (seq,)
            ).fetchone()
            if row is None:
                raise LookupError(seq)
            if not row[1]:
                return
            with connection.blobopen("events", "data", row[0], readonly=True) as blob:
                while piece := blob.read(chunk):
                    yield piece
        finally:
            connection.close()


def _event_row(row: sqlite3.Row, with_data: bool) -> dict[str, Any]:
    event: dict[str, Any] = {
        "seq": row["seq"],
        "broker": f"{row['namespace']}/{row['broker']}",
        "origin": row["origin"],
        "accepted_at": row["accepted_at"],
        "attributes": json.loads(row["attributes"]),
        "data_bytes": row["size"] or 0,
    }
    if with_data:
        head = row["head"] or b""
        event["data"] = head.decode("utf-8", "replace")
        event["data_truncated"] = len(head) < (row["size"] or 0)
    return event


#: The most data one page of ``/_binks/events`` carries (the page ends after the row that
#: passes it); each row's data is cut to the query's ``data_bytes`` as well.
PAGE_DATA_BUDGET = 1024 * 1024
MAX_PAGE = 500
DEFAULT_PAGE = 100
MAX_DATA_BYTES = 64 * 1024
DEFAULT_DATA_BYTES = 4096


@dataclass(frozen=True)
class EventQuery:
    """What ``GET /_binks/events`` asks for; :meth:`from_params` checks the query string."""

    after: int = 0
    before: int | None = None
    event_type: str | None = None
    task: str | None = None
    limit: int = DEFAULT_PAGE
    newest_first: bool = False
    data: bool = False
    data_bytes: int = DEFAULT_DATA_BYTES

    @classmethod
    def from_params(cls, params: Mapping[str, str]) -> EventQuery:
        """``after``, ``before``, ``type``, ``task``, ``limit`` (≤ 500), ``order`` (asc or
        desc), ``data`` (1: include data), ``data_bytes`` (≤ 64 KiB per event)."""
        unknown = set(params) - {
            "after", "before", "type", "task", "limit", "order", "data", "data_bytes"
        }  # fmt: skip
        if unknown:
            raise ValueError(f"unknown parameter(s): {', '.join(sorted(unknown))}")
        order = params.get("order", "asc")
        if order not in ("asc", "desc"):
            raise ValueError(f"order is asc or desc, got {order[:20]!r}")
        return cls(
            after=_bounded(params, "after", 0, 0, 2**62),
            before=_bounded(params, "before", None, 1, 2**62),
            event_type=params.get("type") or None,
            task=params.get("task") or None,
            limit=_bounded(params, "limit", DEFAULT_PAGE, 1, MAX_PAGE),
            newest_first=order == "desc",
            data=params.get("data", "0") in ("1", "true"),
            data_bytes=_bounded(params, "data_bytes", DEFAULT_DATA_BYTES, 0, MAX_DATA_BYTES),
        )

    def sql(self) -> tuple[str, tuple]:
        """The page's SELECT (one row more than the page, to know whether there is more)."""
        where, parameters = ["seq > ?"], [self.after]
        if self.before is not None:
            where.append("seq < ?")
            parameters.append(self.before)
        if self.event_type:
            where.append("type = ?")
            parameters.append(self.event_type)
        if self.task:
            where.append("json_extract(attributes, '$.binkstask') = ?")
            parameters.append(self.task)
        head = "substr(data, 1, ?)" if self.data else "NULL"
        sql = (
            f"SELECT seq, namespace, broker, origin, accepted_at, attributes, length(data) AS "
            f"size, {head} AS head FROM events WHERE {' AND '.join(where)} "
            f"ORDER BY seq {'DESC' if self.newest_first else 'ASC'} LIMIT ?"
        )
        prefix = [self.data_bytes] if self.data else []
        return sql, (*prefix, *parameters, self.limit + 1)


def _bounded(params: Mapping[str, str], name: str, default, low: int, high: int):
    raw = params.get(name)
    if raw is None or raw == "":
        return default
    if not raw.isdigit() or not low <= int(raw) <= high:
        raise ValueError(f"{name} must be an integer from {low} to {high}, got {raw[:20]!r}")
    return int(raw)

"""Answer a redelivered event with the answer it already got, without running again.

Knative delivers at least once, so the same event can arrive twice (a retry after
a timeout, a redelivery after a crash). The key is the event's (source, id), as
the CloudEvents spec says; the stored value is the HTTP answer (status, headers,
body) of the first successful handling. State lives in a SQLite file outside the
process, because an instance that scaled to zero forgets everything; locally it
is ``$BINKS_STATE_DIR/<service>.sqlite3``, on a cluster a volume shared by the
Service's instances (see the README).
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from pathlib import Path


class SeenEvents:
    """A small persistent map (source, id) → answer; safe across the server's threads."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS seen (source TEXT, id TEXT, status INTEGER, "
            "headers TEXT, body BLOB, at REAL, PRIMARY KEY (source, id))"
        )

    def get(self, source: str, event_id: str) -> tuple[int, dict[str, str], bytes] | None:
        with self._lock:
            row = self._db.execute(
                "SELECT status, headers, body FROM seen WHERE source = ? AND id = ?",
                (source, event_id),
            ).fetchone()
        if row is None:
            return None
        return row[0], json.loads(row[1]), row[2]

    def put(self, source: str, event_id: str, status: int, headers: dict, body: bytes) -> None:
        with self._lock:
            self._db.execute(
                "INSERT OR IGNORE INTO seen VALUES (?, ?, ?, ?, ?, ?)",
                (source, event_id, status, json.dumps(headers), body, time.time()),
            )

"""What the reporter knows about each task, kept outside the process.

A function that scales to zero forgets everything, so plans and results live in
a SQLite file (``$BINKS_STATE_DIR/reporter-<variant>.tasks.sqlite3``). Locally that is
a directory on the machine; on a cluster, a volume the reporter's instances
share (a ReadWriteMany PVC, or one instance: ``max-scale: "1"``).
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from events import RESULTS_OF, TASK_FAILED, TASK_PLANNED, TASK_REQUESTED

_SCHEMA = """
CREATE TABLE IF NOT EXISTS plans (task TEXT PRIMARY KEY, plan TEXT NOT NULL,
                                  deadline REAL NOT NULL);
CREATE TABLE IF NOT EXISTS parts (task TEXT NOT NULL, type TEXT NOT NULL, data TEXT NOT NULL,
                                  at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS reports (task TEXT PRIMARY KEY, at REAL NOT NULL);
"""


@dataclass(frozen=True)
class TaskState:
    """One task as the reporter has seen it so far."""

    plan: dict[str, Any] | None
    deadline: float | None
    parts: dict[str, dict[str, Any]] = field(default_factory=dict)
    published: bool = False
    #: When each result was recorded (seconds since the epoch), by event type.
    recorded_at: dict[str, float] = field(default_factory=dict)

    @property
    def planned_at(self) -> float | None:
        """When the plan was recorded (its deadline less the plan's ``deadline_s``)."""
        if self.plan is None or self.deadline is None:
            return None
        return self.deadline - float(self.plan.get("deadline_s", 600))

    def _answered(self, step: dict[str, Any], event_type: str) -> dict[str, Any]:
        at, start = self.recorded_at.get(event_type), self.planned_at
        if at is None or start is None:
            return step
        return {**step, "answered_after_s": round(max(0.0, at - start), 1)}

    def steps(self, now: float) -> tuple[bool, list[dict[str, Any]]]:
        """(ready to report, each step's status); ready when nothing is missing or too late."""
        if TASK_FAILED in self.parts:
            reason = self.parts[TASK_FAILED].get("reason", "")
            return True, [{"type": TASK_REQUESTED, "status": "failed", "reason": reason}]
        if self.plan is None:
            return False, []
        steps = []
        for planned in self.plan["steps"]:
            completed, failed = RESULTS_OF[planned["type"]]
            if completed in self.parts:
                step = self._answered({"type": planned["type"], "status": "completed"}, completed)
                result = self.parts[completed]
                if isinstance(result.get("findings"), list):
                    step["findings"] = len(result["findings"])
                if result.get("outcome") == "failed":  # a Job that ran and failed
                    conditions = ", ".join(result.get("conditions") or []) or "no conditions"
                    step = {**step, "status": "failed", "reason": f"the Job failed ({conditions})"}
                elif result.get("outcome") == "running":
                    step["reason"] = "the Job was still running when the operator stopped waiting"
            elif failed in self.parts:
                reason = self.parts[failed].get("reason", "")
                step = {"type": planned["type"], "status": "failed", "reason": reason}
                step = self._answered(step, failed)
            else:
                step = {"type": planned["type"], "status": "missing"}
            steps.append(step)
        missing = any(step["status"] == "missing" for step in steps)
        return not missing or now >= (self.deadline or 0), steps


class ReportStore:
    """Plans, results and published reports by task; one connection, opened when the
    reporter is configured, shared by the server's threads (each call holds a lock),
    and by other instances through the file."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, isolation_level=None, timeout=10, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def record(self, task: str, event_type: str, data: Mapping[str, Any], now: float) -> None:
        """Remember a plan (its deadline counted from ``now``) or a result of ``task``."""
        with self._lock:
            if event_type == TASK_PLANNED:
                deadline = now + float(data.get("deadline_s", 600))
                self._db.execute(
                    "INSERT OR IGNORE INTO plans VALUES (?, ?, ?)",
                    (task, json.dumps(dict(data)), deadline),
                )
            else:
                self._db.execute(
                    "INSERT INTO parts VALUES (?, ?, ?, ?)",
                    (task, event_type, json.dumps(dict(data)), now),
                )

    def state(self, task: str) -> TaskState:
        """Everything recorded of ``task`` so far."""
        with self._lock:
            plan = self._db.execute(
                "SELECT plan, deadline FROM plans WHERE task = ?", (task,)
            ).fetchone()
            rows = self._db.execute(
                "SELECT type, data, at FROM parts WHERE task = ? ORDER BY at", (task,)
            ).fetchall()
            published = self._db.execute("SELECT 1 FROM reports WHERE task = ?", (task,)).fetchone()
        return TaskState(
            plan=json.loads(plan[0]) if plan else None,
            deadline=plan[1] if plan else None,
            parts={row[0]: json.loads(row[1]) for row in rows},
            published=published is not None,
            recorded_at={row[0]: row[2] for row in rows},
        )

    def overdue(self, now: float) -> list[str]:
        """Tasks whose deadline has passed and whose report is not published, oldest first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT task FROM plans WHERE deadline <= ?"
                " AND task NOT IN (SELECT task FROM reports) ORDER BY deadline LIMIT 100",
                (now,),
            ).fetchall()
        return [row[0] for row in rows]

    def mark_published(self, task: str) -> bool:
        """True for the one caller that publishes ``task``'s report."""
        with self._lock:
            cursor = self._db.execute(
                "INSERT OR IGNORE INTO reports VALUES (?, ?)", (task, time.time())
            )
            return cursor.rowcount == 1

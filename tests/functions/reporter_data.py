"""What the reporter records in its tests: a plan and a completed review of one task."""

from __future__ import annotations

PLAN = {
    "goal": "review it",
    "summary": "review then report",
    "model": "m",
    "variant": "agno",
    "steps": [{"type": "dev.binks.review.requested", "why": "a repository"}],
    "deadline_s": 600,
}
REVIEW = {
    "repository": "sample-repo",
    "summary": "one bug",
    "model": "m",
    "variant": "agno",
    "duration_ms": 5,
    "findings": [{"path": "a.py", "line": 3, "severity": "high", "message": "SQL injection"}],
}

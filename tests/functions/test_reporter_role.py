"""The reporter role: records plans and results, reports once, says what failed or is missing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from events import (
    REPORT_PUBLISHED,
    REVIEW_COMPLETED,
    REVIEW_FAILED,
    TASK_FAILED,
    TASK_PLANNED,
    validate_data,
)
from functions.reporter.role import ROLE
from shared.role import AgentTask, Context

PLAN = {
    "goal": "review it",
    "summary": "review then report",
    "model": "m",
    "variant": "agno",
    "steps": [{"type": "dev.binks.review.requested", "why": "a repository"}],
    "deadline_s": 600,
}
REVIEW = {
    "repository": "r",
    "summary": "one bug",
    "model": "m",
    "variant": "agno",
    "duration_ms": 5,
    "findings": [{"path": "a.py", "line": 3, "severity": "high", "message": "SQL injection"}],
}
SUMMARY = json.dumps({"summary": "The review found one SQL injection."})


@pytest.fixture
def context(tmp_path: Path) -> Context:
    return Context(variant="agno", model="m", workspace=tmp_path, state_dir=tmp_path, task="t-1")


def handle(context: Context, event_type: str, data: dict):
    from dataclasses import replace

    return ROLE.prepare(data, replace(context, event_type=event_type))


def test_nothing_is_reported_until_every_planned_step_answered(context: Context) -> None:
    assert handle(context, TASK_PLANNED, PLAN) is None
    task = handle(context, REVIEW_COMPLETED, REVIEW)
    assert isinstance(task, AgentTask) and task.tools == ()
    assert "Code review: completed" in task.prompt and "SQL injection" in task.prompt


def test_results_may_arrive_before_the_plan(context: Context) -> None:
    assert handle(context, REVIEW_COMPLETED, REVIEW) is None
    assert isinstance(handle(context, TASK_PLANNED, PLAN), AgentTask)


def test_the_report_is_published_once_with_markdown(context: Context) -> None:
    handle(context, TASK_PLANNED, PLAN)
    handle(context, REVIEW_COMPLETED, REVIEW)
    reply = ROLE.finish(REVIEW, SUMMARY, context, 10)
    assert reply.type == REPORT_PUBLISHED
    validate_data(REPORT_PUBLISHED, reply.data)
    assert reply.data["complete"] is True
    assert reply.data["steps"] == [
        {"type": "dev.binks.review.requested", "status": "completed", "findings": 1}
    ]
    assert "# Report: review it" in reply.data["markdown"]
    assert "The review found one SQL injection." in reply.data["markdown"]
    assert ROLE.finish(REVIEW, SUMMARY, context, 10) is None  # already published
    assert handle(context, REVIEW_COMPLETED, REVIEW) is None


def test_a_failed_step_is_reported_as_failed(context: Context) -> None:
    handle(context, TASK_PLANNED, PLAN)
    failed = {
        "repository": "r",
        "error": "invalid_model_answer",
        "reason": "no JSON",
        "model": "m",
        "variant": "agno",
    }
    assert isinstance(handle(context, REVIEW_FAILED, failed), AgentTask)
    reply = ROLE.finish(failed, SUMMARY, context, 10)
    assert reply.data["complete"] is False
    assert reply.data["steps"][0] == {
        "type": "dev.binks.review.requested",
        "status": "failed",
        "reason": "no JSON",
    }


def test_a_failed_plan_is_reported_at_once(context: Context) -> None:
    failed = {
        "goal": "g",
        "error": "invalid_model_answer",
        "reason": "not a plan",
        "model": "m",
        "variant": "agno",
    }
    assert isinstance(handle(context, TASK_FAILED, failed), AgentTask)
    reply = ROLE.finish(failed, SUMMARY, context, 10)
    assert reply.data["steps"][0]["status"] == "failed" and reply.data["goal"] == "g"


def test_missing_steps_are_reported_after_the_deadline(context: Context) -> None:
    assert handle(context, TASK_PLANNED, {**PLAN, "deadline_s": 1}) is None
    import time

    time.sleep(1.1)
    later = {"repository": "other", "error": "x", "reason": "late", "model": "m", "variant": "agno"}
    handle(
        context,
        "dev.binks.cluster.inspect.failed",
        {"namespace": "n", "error": "x", "reason": "unplanned", "model": "m", "variant": "agno"},
    )
    reply = ROLE.finish(later, "not json", context, 10)
    assert reply.data["steps"][0]["status"] == "missing"
    assert (
        "unusable" in reply.data["summary"]
        and "no answer before the deadline" in reply.data["markdown"]
    )

"""The reporter role: records plans and results, reports once, says what failed or is missing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from events import (
    CLUSTER_JOB_COMPLETED,
    CLUSTER_JOB_REQUESTED,
    PING,
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


def test_a_clock_tick_reports_tasks_whose_steps_never_answered(context: Context) -> None:
    import time
    from dataclasses import replace

    assert handle(context, TASK_PLANNED, {**PLAN, "deadline_s": 1}) is None
    other = replace(context, task="t-2")
    assert handle(other, TASK_PLANNED, {**PLAN, "deadline_s": 1}) is None
    tick = replace(context, task="ping-1")
    assert handle(tick, PING, {"tick": True}) is None  # nothing overdue yet
    time.sleep(1.1)
    reply = handle(tick, PING, {"tick": True})
    reports = [reply, *reply.emits]
    assert sorted(r.task for r in reports) == ["t-1", "t-2"]  # each under its own task
    for report in reports:
        assert report.type == REPORT_PUBLISHED and not report.data["complete"]
        validate_data(report.type, report.data)
        assert "1 of 1 steps unanswered: Code review" in report.data["summary"]
    assert handle(tick, PING, {"tick": True}) is None  # reported once
    assert handle(context, REVIEW_COMPLETED, REVIEW) is None  # a late result changes nothing


def test_a_failed_job_is_a_failed_step_with_its_conditions(context: Context) -> None:
    plan = {**PLAN, "steps": [{"type": CLUSTER_JOB_REQUESTED, "why": "count lines"}]}
    handle(context, TASK_PLANNED, plan)
    job = {
        "namespace": "default",
        "name": "check-agno-1a2b3c",
        "image": "ghcr.io/binks-functions/worker:0.1.0",
        "outcome": "failed",
        "active": 0,
        "succeeded": 0,
        "failed": 1,
        "conditions": ["Failed=True"],
        "logs": "killed\n",
        "elapsed_ms": 1000,
        "variant": "agno",
    }
    assert isinstance(handle(context, CLUSTER_JOB_COMPLETED, job), AgentTask)
    reply = ROLE.finish(job, SUMMARY, context, 10)
    (step,) = reply.data["steps"]
    assert step["status"] == "failed" and "Failed=True" in step["reason"]
    assert "Repository check (Job)" in reply.data["markdown"] and "killed" in reply.data["markdown"]

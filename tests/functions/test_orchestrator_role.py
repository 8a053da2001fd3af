"""The orchestrator role: a goal becomes the work events of one variant's chain."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from events import (
    CLUSTER_INSPECT_REQUESTED,
    CLUSTER_JOB_REQUESTED,
    REVIEW_REQUESTED,
    TASK_FAILED,
    TASK_PLANNED,
)
from functions.orchestrator.role import ROLE
from shared.role import Context

CONTEXT = Context(variant="agno", model="m", workspace=Path("."))
REQUEST = {
    "goal": "Check my code and my namespace",
    "repository": "sample-repo",
    "namespace": "shop",
}


def plan(**changes) -> str:
    answer = {
        "summary": "review, then inspect",
        "review": True,
        "focus": "SQL",
        "inspect": True,
        "question": "pods healthy?",
        "check": False,
    }
    return json.dumps({**answer, **changes})


def test_prepare_states_the_goal_and_needs_no_tools() -> None:
    task = ROLE.prepare(REQUEST, CONTEXT)
    assert task.tools == ()
    assert "Goal: Check my code" in task.prompt and "Namespace: shop" in task.prompt


def test_first_step_is_the_reply_the_rest_and_the_plan_are_published() -> None:
    reply = ROLE.finish(REQUEST, plan(), CONTEXT, 10)
    assert reply.type == REVIEW_REQUESTED
    assert reply.data == {"repository": "sample-repo", "focus": "SQL"}
    inspect, planned = reply.emits
    assert inspect.type == CLUSTER_INSPECT_REQUESTED
    assert inspect.data == {"namespace": "shop", "question": "pods healthy?"}
    assert planned.type == TASK_PLANNED
    assert [s["type"] for s in planned.data["steps"]] == [
        REVIEW_REQUESTED,
        CLUSTER_INSPECT_REQUESTED,
    ]


def test_steps_need_what_the_request_gives() -> None:
    reply = ROLE.finish({"goal": "just look"}, plan(), CONTEXT, 10)
    assert reply.type == TASK_PLANNED and reply.data["steps"] == [] and reply.emits == ()


@pytest.mark.parametrize("answer", ["no plan", plan(review="yes"), '{"summary": "x"}'])
def test_an_unusable_plan_is_a_failed_task(answer: str) -> None:
    reply = ROLE.finish(REQUEST, answer, CONTEXT, 10)
    assert reply.failed and reply.type == TASK_FAILED
    assert reply.data["error"] == "invalid_model_answer"


def test_the_repository_check_runs_as_a_job_when_repository_and_namespace_are_given() -> None:
    reply = ROLE.finish(REQUEST, plan(check=True), CONTEXT, 10)
    job = next(e for e in reply.emits if e.type == CLUSTER_JOB_REQUESTED)
    assert job.data["args"] == ["check", "sample-repo"] and job.data["namespace"] == "shop"
    assert job.data["image"].startswith("ghcr.io/binks-functions/worker")
    planned = reply.emits[-1]
    assert CLUSTER_JOB_REQUESTED in [s["type"] for s in planned.data["steps"]]
    no_namespace = ROLE.finish({**REQUEST, "namespace": None}, plan(check=True), CONTEXT, 10)
    assert CLUSTER_JOB_REQUESTED not in [e.type for e in (no_namespace, *no_namespace.emits)]

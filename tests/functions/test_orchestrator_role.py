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
    TASK_REQUESTED,
    VARIANTS,
)
from functions.orchestrator.role import (
    ROLE,
    WORKER_IMAGE,
    OrchestratorConfig,
    configure,
    plan_prompt,
    planned,
)
from shared.role import Context

from .apps import ScriptedRunner, role_app, send

CONTEXT = Context(variant="agno", model="m", workspace=Path("."))
CONFIG = OrchestratorConfig()
REQUEST = {
    "goal": "Check my code and my namespace",
    "repository": "sample-repo",
    "namespace": "shop",
}


def plan(**changes: object) -> dict:
    answer = {
        "review": True,
        "focus": "SQL",
        "inspect": True,
        "question": "pods healthy?",
        "check": False,
    }
    return {**answer, **changes}


def test_the_prompt_states_the_goal_and_needs_no_tools() -> None:
    prompt = plan_prompt(REQUEST, CONTEXT, CONFIG)
    assert prompt.tools == ()
    assert "Goal: Check my code" in prompt.text and "Namespace: shop" in prompt.text


def test_first_step_is_the_reply_the_rest_and_the_plan_are_published() -> None:
    reply = planned(REQUEST, plan(), CONTEXT, CONFIG)
    assert reply.type == REVIEW_REQUESTED
    assert reply.data == {"repository": "sample-repo", "focus": "SQL"}
    inspect, plan_event = reply.emits
    assert inspect.type == CLUSTER_INSPECT_REQUESTED
    assert inspect.data == {"namespace": "shop", "question": "pods healthy?"}
    assert plan_event.type == TASK_PLANNED
    assert [s["type"] for s in plan_event.data["steps"]] == [
        REVIEW_REQUESTED,
        CLUSTER_INSPECT_REQUESTED,
    ]


def test_the_plan_summary_is_written_from_the_steps_not_by_the_model() -> None:
    reply = planned(REQUEST, plan(check=True), CONTEXT, CONFIG)
    summary = reply.emits[-1].data["summary"]
    assert summary == (
        "Review sample-repo, inspect namespace shop and run the repository check as a Job in shop."
    ), summary
    assert "summary" not in ROLE.handlers[TASK_REQUESTED].answer_schema["properties"]


def test_steps_need_what_the_request_gives() -> None:
    reply = planned({"goal": "just look"}, plan(), CONTEXT, CONFIG)
    assert reply.type == TASK_PLANNED and reply.data["steps"] == [] and reply.emits == ()


def test_the_repository_check_runs_as_a_job_when_repository_and_namespace_are_given() -> None:
    reply = planned(REQUEST, plan(check=True), CONTEXT, OrchestratorConfig("registry/w:2"))
    job = next(e for e in reply.emits if e.type == CLUSTER_JOB_REQUESTED)
    assert job.data["args"] == ["check", "sample-repo"] and job.data["namespace"] == "shop"
    assert job.data["image"] == "registry/w:2"
    assert CLUSTER_JOB_REQUESTED in [s["type"] for s in reply.emits[-1].data["steps"]]
    no_namespace = planned({**REQUEST, "namespace": None}, plan(check=True), CONTEXT, CONFIG)
    assert CLUSTER_JOB_REQUESTED not in [e.type for e in (no_namespace, *no_namespace.emits)]


def test_the_worker_image_is_read_once_from_the_environment() -> None:
    assert configure({}, CONTEXT).worker_image == WORKER_IMAGE
    assert configure({"BINKS_WORKER_IMAGE": "r/w:9"}, CONTEXT).worker_image == "r/w:9"
    with pytest.raises(ValueError, match="BINKS_WORKER_IMAGE"):
        configure({"BINKS_WORKER_IMAGE": " "}, CONTEXT)


@pytest.mark.parametrize("variant", VARIANTS)
def test_variant_app_replies_with_the_plan_when_there_is_no_work(variant: str, tmp_path) -> None:
    runner = ScriptedRunner(variant, json.dumps(plan()))
    client = role_app(ROLE, runner, tmp_path, BINKS_MODEL="m")
    answered = send(client, TASK_REQUESTED, {"goal": "just look"})
    assert (answered.status, answered.type) == (200, TASK_PLANNED), answered
    assert answered.data == {
        "goal": "just look",
        "model": "m",
        "variant": variant,
        "summary": "Nothing to do: the goal asks for no step this team can take.",
        "steps": [],
        "deadline_s": 600,
    }
    assert answered.headers["ce-binksvariant"] == variant
    (task,) = runner.tasks
    assert (task.title, task.tools, task.max_tool_calls) == ("Orchestrator", (), 1)


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        ("no plan", "no JSON object"),
        (json.dumps(plan(review="yes")), "review: 'yes' is not of type 'boolean'"),
        ('{"summary": "x"}', "(answer): 'check' is a required property"),
    ],
)
def test_variant_app_answers_an_unusable_plan_with_a_failed_task(
    variant: str, answer: str, reason: str, tmp_path
) -> None:
    client = role_app(ROLE, ScriptedRunner(variant, answer), tmp_path, BINKS_MODEL="m")
    answered = send(client, TASK_REQUESTED, REQUEST)
    assert (answered.status, answered.type) == (200, TASK_FAILED), answered
    assert answered.data == {
        "goal": REQUEST["goal"],
        "model": "m",
        "variant": variant,
        "error": "invalid_model_answer",
        "reason": answered.data["reason"],
    }
    assert answered.data["reason"].startswith("the model's answer is not a valid plan: ")
    assert reason in answered.data["reason"], answered.data["reason"]


@pytest.mark.parametrize("variant", VARIANTS)
def test_variant_app_with_an_empty_worker_image_refuses_to_start(variant, tmp_path) -> None:
    with pytest.raises(RuntimeError, match="BINKS_WORKER_IMAGE is set but empty"):
        role_app(ROLE, ScriptedRunner(variant), tmp_path, BINKS_WORKER_IMAGE="")

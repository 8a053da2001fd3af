"""The orchestrator, defined once: plan a goal, then publish the work as events.

It does not wait for the work (a function that waits holds an instance for
nothing): its reply is the first work event, the others and the plan
(``dev.binks.task.planned``, for the reporter) go to ``K_SINK``. Every event
carries the task id and this variant, so each variant runs its own chain.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from events import (
    CLUSTER_INSPECT_REQUESTED,
    CLUSTER_JOB_REQUESTED,
    REVIEW_REQUESTED,
    TASK_FAILED,
    TASK_PLANNED,
    TASK_REQUESTED,
    validate_data,
)
from shared.answers import check_answer, parse_json_answer
from shared.role import AgentTask, Context, Reply, Role, failure

INSTRUCTIONS = """\
You plan work for a small team of agents:
- a code reviewer, who reviews a source repository for defects;
- a cluster operator, who inspects a Kubernetes namespace with read-only tools,
  and can run the repository check (parses every file, counts lines) as a Job.
Given a person's goal, decide which of them to involve and what to ask them.
Involve the reviewer whenever a repository is given and the operator whenever a
namespace is given, the check when both are; leave one out only when the goal
says so. Without a repository there is no review, without a namespace no inspection.

Answer with ONLY one JSON object, no prose around it. For a goal that names a
repository and a namespace, for example:
{"summary": "Review the code for bugs, check the namespace, count the code's lines.",
 "review": true, "focus": "bugs that give wrong results",
 "inspect": true, "question": "Are all pods and services ready?",
 "check": true}
Set review, inspect and check to false for what the goal leaves out."""

ANSWER_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "summary": {"type": "string", "minLength": 1, "maxLength": 500},
        "review": {"type": "boolean"},
        "focus": {"type": "string", "maxLength": 200},
        "inspect": {"type": "boolean"},
        "question": {"type": "string", "maxLength": 300},
        "check": {"type": "boolean"},
    },
    "required": ["summary", "review", "focus", "inspect", "question", "check"],
    "additionalProperties": False,
}
DEADLINE_S = 600
#: The worker image of the repository check (the cluster operator must allow it).
WORKER_IMAGE = "ghcr.io/binks-functions/worker:0.1.0"
CHECK_PURPOSE = "Parse every file of the repository and count its lines."


def prepare(data: Mapping[str, Any], context: Context) -> AgentTask:
    """The goal and what it is about; the orchestrator needs no tools."""
    lines = [f"Goal: {data['goal']}"]
    lines.append(f"Repository: {data.get('repository') or '(none)'}")
    lines.append(f"Namespace: {data.get('namespace') or '(none)'}")
    return AgentTask(prompt="\n".join(lines), tools=())


def plan_steps(data: Mapping[str, Any], answer: Mapping[str, Any]) -> list[Reply]:
    """The work events the plan asks for, limited to what the request makes possible."""
    steps = []
    if answer["review"] and data.get("repository"):
        request = {"repository": data["repository"]}
        if answer["focus"].strip():
            request["focus"] = answer["focus"].strip()
        steps.append(Reply(REVIEW_REQUESTED, request))
    if answer["inspect"] and data.get("namespace"):
        question = answer["question"].strip() or "Is everything in this namespace healthy?"
        steps.append(
            Reply(CLUSTER_INSPECT_REQUESTED, {"namespace": data["namespace"], "question": question})
        )
    if answer["check"] and data.get("repository") and data.get("namespace"):
        job = {
            "namespace": data["namespace"],
            "name": "check",
            "image": os.environ.get("BINKS_WORKER_IMAGE", WORKER_IMAGE),
            "args": ["check", data["repository"]],
            "purpose": CHECK_PURPOSE,
        }
        steps.append(Reply(CLUSTER_JOB_REQUESTED, job))
    return steps


def finish(data: Mapping[str, Any], answer: str, context: Context, elapsed_ms: int) -> Reply:
    """First work event as the reply; the rest and the plan as published events."""
    common = {"goal": data["goal"], "model": context.model, "variant": context.variant}
    try:
        parsed = parse_json_answer(answer)
        check_answer(parsed, ANSWER_SCHEMA)
    except ValueError as problem:
        reason = f"the model's answer is not a valid plan: {problem}"
        return failure(TASK_FAILED, common, "invalid_model_answer", reason)
    steps = plan_steps(data, parsed)
    plan = {
        **common,
        "summary": parsed["summary"],
        "steps": [{"type": step.type, "why": _why(step.type, parsed)} for step in steps],
        "deadline_s": DEADLINE_S,
    }
    validate_data(TASK_PLANNED, plan)
    planned = Reply(TASK_PLANNED, plan)
    if not steps:
        return planned
    first, *rest = steps
    return Reply(first.type, first.data, emits=(*rest, planned))


def _why(step_type: str, answer: Mapping[str, Any]) -> str:
    if step_type == REVIEW_REQUESTED:
        return (answer["focus"] or "review the repository")[:500]
    if step_type == CLUSTER_JOB_REQUESTED:
        return CHECK_PURPOSE
    return (answer["question"] or "inspect the namespace")[:500]


ROLE = Role(
    name="orchestrator",
    title="Orchestrator",
    goal="Turn a person's goal into work for the code reviewer and the cluster operator.",
    instructions=INSTRUCTIONS,
    request_type=TASK_REQUESTED,
    reply_types=(
        REVIEW_REQUESTED,
        CLUSTER_INSPECT_REQUESTED,
        CLUSTER_JOB_REQUESTED,
        TASK_PLANNED,
        TASK_FAILED,
    ),
    prepare=prepare,
    finish=finish,
    answer_schema=ANSWER_SCHEMA,
    max_tool_calls=1,
)

"""The orchestrator, defined once: plan a goal, then publish the work as events.

It does not wait for the work (a function that waits holds an instance for
nothing): its reply is the first work event, the others and the plan
(``dev.binks.task.planned``, for the reporter) go to ``K_SINK``. Every event
carries the task id and this variant, so each variant runs its own chain.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from events import (
    CLUSTER_INSPECT_REQUESTED,
    CLUSTER_JOB_REQUESTED,
    REVIEW_REQUESTED,
    TASK_FAILED,
    TASK_PLANNED,
    TASK_REQUESTED,
)
from shared.role import AgentStep, Context, FailedReply, Prompt, Reply, Role

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
{"review": true, "focus": "bugs that give wrong results",
 "inspect": true, "question": "Are all pods and services ready?",
 "check": true}
Set review, inspect and check to false for what the goal leaves out; write focus and
question for this goal."""

ANSWER_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "review": {"type": "boolean"},
        "focus": {"type": "string", "maxLength": 200},
        "inspect": {"type": "boolean"},
        "question": {"type": "string", "maxLength": 300},
        "check": {"type": "boolean"},
    },
    "required": ["review", "focus", "inspect", "question", "check"],
    "additionalProperties": False,
}
DEADLINE_S = 600
#: The worker image of the repository check (the cluster operator must allow it).
WORKER_IMAGE = "ghcr.io/binks-functions/worker:0.1.0"
CHECK_PURPOSE = "Parse every file of the repository and count its lines."


@dataclass(frozen=True)
class OrchestratorConfig:
    """What the orchestrator reads from its environment, once."""

    #: ``BINKS_WORKER_IMAGE``: the image the repository check runs in.
    worker_image: str = WORKER_IMAGE


def configure(env: Mapping[str, str], context: Context) -> OrchestratorConfig:
    """``BINKS_WORKER_IMAGE`` (default :data:`WORKER_IMAGE`); set but empty is refused."""
    image = env.get("BINKS_WORKER_IMAGE", WORKER_IMAGE).strip()
    if not image:
        raise ValueError("BINKS_WORKER_IMAGE is set but empty")
    return OrchestratorConfig(worker_image=image)


def plan_prompt(data: Mapping[str, Any], context: Context, config: OrchestratorConfig) -> Prompt:
    """The goal and what it is about; the orchestrator needs no tools."""
    lines = [f"Goal: {data['goal']}"]
    lines.append(f"Repository: {data.get('repository') or '(none)'}")
    lines.append(f"Namespace: {data.get('namespace') or '(none)'}")
    return Prompt("\n".join(lines))


def plan_steps(
    data: Mapping[str, Any], answer: Mapping[str, Any], config: OrchestratorConfig
) -> list[Reply]:
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
            "image": config.worker_image,
            "args": ["check", data["repository"]],
            "purpose": CHECK_PURPOSE,
        }
        steps.append(Reply(CLUSTER_JOB_REQUESTED, job))
    return steps


def common_fields(data: Mapping[str, Any], context: Context) -> dict[str, Any]:
    """What the plan and the failed event repeat of the request and the run."""
    return {"goal": data["goal"], "model": context.model, "variant": context.variant}


def planned(
    data: Mapping[str, Any], answer: dict[str, Any], context: Context, config: OrchestratorConfig
) -> Reply:
    """First work event as the reply; the rest and the plan as published events."""
    steps = plan_steps(data, answer, config)
    plan = {
        **common_fields(data, context),
        "summary": plan_summary(data, steps),
        "steps": [{"type": step.type, "why": _why(step.type, answer)} for step in steps],
        "deadline_s": DEADLINE_S,
    }
    plan_event = Reply(TASK_PLANNED, plan)
    if not steps:
        return plan_event
    first, *rest = steps
    return Reply(first.type, first.data, emits=(*rest, plan_event))


def plan_summary(data: Mapping[str, Any], steps: list[Reply]) -> str:
    """The plan in one sentence, written from the steps (the model only decides them)."""
    said = {
        REVIEW_REQUESTED: f"review {data.get('repository')}",
        CLUSTER_INSPECT_REQUESTED: f"inspect namespace {data.get('namespace')}",
        CLUSTER_JOB_REQUESTED: f"run the repository check as a Job in {data.get('namespace')}",
    }
    if not steps:
        return "Nothing to do: the goal asks for no step this team can take."
    parts = [said[step.type] for step in steps]
    text = ", ".join(parts[:-1]) + (" and " if len(parts) > 1 else "") + parts[-1]
    return (text[0].upper() + text[1:] + ".")[:500]


def _why(step_type: str, answer: Mapping[str, Any]) -> str:
    if step_type == REVIEW_REQUESTED:
        return (answer["focus"] or "review the repository")[:500]
    if step_type == CLUSTER_JOB_REQUESTED:
        return CHECK_PURPOSE
    return (answer["question"] or "inspect the namespace")[:500]


PLAN = AgentStep(
    instructions=INSTRUCTIONS,
    ask=plan_prompt,
    answer_schema=ANSWER_SCHEMA,
    finish=planned,
    on_unusable_answer=FailedReply(TASK_FAILED, common_fields, noun="plan"),
    max_tool_calls=1,
)

ROLE = Role(
    name="orchestrator",
    title="Orchestrator",
    goal="Turn a person's goal into work for the code reviewer and the cluster operator.",
    request_type=TASK_REQUESTED,
    handlers={TASK_REQUESTED: PLAN},
    reply_types=(
        REVIEW_REQUESTED,
        CLUSTER_INSPECT_REQUESTED,
        CLUSTER_JOB_REQUESTED,
        TASK_PLANNED,
        TASK_FAILED,
    ),
    configure=configure,
)

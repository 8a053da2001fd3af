"""The reporter, defined once: when a task's planned steps have all answered (or its
deadline has passed), the model writes a short summary and the report is published.

Until then each event is only recorded and answered with no reply. A report names
every step that failed or never answered, so a chain never just hangs.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from events import (
    CLUSTER_INSPECT_COMPLETED,
    CLUSTER_INSPECT_FAILED,
    CLUSTER_JOB_COMPLETED,
    CLUSTER_JOB_FAILED,
    PING,
    REPORT_PUBLISHED,
    REVIEW_COMPLETED,
    REVIEW_FAILED,
    TASK_FAILED,
    TASK_PLANNED,
)
from functions.reporter.store import ReportStore, TaskState
from shared.answers import check_answer, parse_json_answer
from shared.role import AgentTask, Context, Prepared, Reply, Role

INSTRUCTIONS = """\
You write the summary of a task report for a person. You get the goal, the plan,
and what each step answered, or that it failed or never answered. Be factual: do
not add findings that are not in the results, and say plainly what failed or is
missing.

Answer with ONLY one JSON object, no prose around it:
{"summary": "<at most three sentences>"}"""

ANSWER_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"summary": {"type": "string", "minLength": 1, "maxLength": 600}},
    "required": ["summary"],
    "additionalProperties": False,
}
STEP_TITLES = {
    "dev.binks.review.requested": "Code review",
    "dev.binks.cluster.inspect.requested": "Cluster inspection",
    "dev.binks.cluster.job.requested": "Repository check (Job)",
    "dev.binks.task.requested": "Planning",
}


def store_for(context: Context) -> ReportStore:
    return ReportStore(context.state_dir / f"reporter-{context.variant}.tasks.sqlite3")


def results_text(state: TaskState) -> str:
    """What the model (and the Markdown) is told about each result."""
    lines = []
    review = state.parts.get(REVIEW_COMPLETED)
    if review:
        lines.append(f"Code review: {review['summary']}")
        for f in review["findings"][:20]:
            lines.append(f"- [{f['severity']}] {f['path']}:{f['line']} {f['message']}")
    inspect = state.parts.get(CLUSTER_INSPECT_COMPLETED)
    if inspect:
        lines.append(f"Cluster inspection of {inspect['namespace']}: {inspect['summary']}")
        for o in inspect["observations"][:20]:
            lines.append(f"- [{o['status']}] {o['object']}: {o['message']}")
    job = state.parts.get(CLUSTER_JOB_COMPLETED)
    if job:
        lines.append(f"Job {job['name']} ({job['image']}): {job['outcome']}")
        lines += [f"    {line}" for line in job["logs"].splitlines()[-10:]]
    for failed in (REVIEW_FAILED, CLUSTER_INSPECT_FAILED, CLUSTER_JOB_FAILED, TASK_FAILED):
        if failed in state.parts:
            lines.append(f"{failed}: {state.parts[failed]['reason']}")
    return "\n".join(lines)


def prepare(data: Mapping[str, Any], context: Context) -> Prepared:
    """Record the event; ask the model for a summary once the task is ready to report.
    A clock tick publishes the reports of tasks whose deadline passed in silence."""
    if context.event_type == PING:
        return overdue_reports(context)
    store = store_for(context)
    try:
        store.record(context.task, context.event_type, data)
        state = store.state(context.task)
    finally:
        store.close()
    ready, steps = state.steps(time.time())
    if state.published or not ready:
        return None
    goal = (state.plan or {}).get("goal") or data.get("goal", "")
    status = "\n".join(f"- {STEP_TITLES.get(s['type'], s['type'])}: {s['status']}" for s in steps)
    prompt = f"Goal: {goal}\nSteps:\n{status}\nResults:\n{results_text(state) or '(none)'}"
    return AgentTask(prompt=prompt, tools=())


def render_markdown(state: TaskState, steps: list[dict], summary: str, context: Context) -> str:
    """The human report: plan, each step, and the model's summary."""
    plan = state.plan or {}
    lines = [
        f"# Report: {plan.get('goal', '(no plan)')}",
        "",
        f"Variant **{context.variant}**, model `{context.model}`, task `{context.task}`.",
        "",
        "## Summary",
        "",
        summary,
        "",
        "## Plan",
        "",
        plan.get("summary", "(none)"),
        "",
        "## Steps",
        "",
    ]
    for step in steps:
        title = STEP_TITLES.get(step["type"], step["type"])
        detail = f" ({step['reason']})" if step.get("reason") else ""
        if step["status"] == "missing":
            detail = " (no answer before the deadline)"
        lines.append(f"- **{title}**: {step['status']}{detail}")
    results = results_text(state)
    if results:
        lines += ["", "## Results", "", results]
    return "\n".join(lines) + "\n"


def finish(data: Mapping[str, Any], answer: str, context: Context, elapsed_ms: int) -> Reply | None:
    """Publish the report once: the first instance to mark the task publishes it."""
    try:
        parsed = parse_json_answer(answer)
        check_answer(parsed, ANSWER_SCHEMA)
        summary = parsed["summary"]
    except ValueError as problem:
        summary = f"(the model's summary was unusable: {problem})"[:600]
    store = store_for(context)
    try:
        state = store.state(context.task)
        if not store.mark_published(context.task):
            return None  # another delivery published it meanwhile
    finally:
        store.close()
    _, steps = state.steps(time.time())
    return Reply(REPORT_PUBLISHED, report_data(state, steps, summary, context, data))


def report_data(
    state: TaskState,
    steps: list[dict[str, Any]],
    summary: str,
    context: Context,
    data: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The ``dev.binks.report.published`` data of one task."""
    return {
        "goal": (state.plan or {}).get("goal") or (data or {}).get("goal", ""),
        "complete": all(step["status"] == "completed" for step in steps),
        "steps": steps,
        "summary": summary,
        "markdown": render_markdown(state, steps, summary, context),
        "model": context.model,
        "variant": context.variant,
    }


def overdue_reports(context: Context) -> Reply | None:
    """Reports of every task past its deadline, without the model: the summary says
    what is missing (a step that never answers must not hold a report forever)."""
    store = store_for(context)
    reports = []
    try:
        now = time.time()
        for task in store.overdue(now):
            state = store.state(task)
            if not store.mark_published(task):
                continue
            _, steps = state.steps(now)
            missing = [
                STEP_TITLES.get(s["type"], s["type"]) for s in steps if s["status"] == "missing"
            ]
            summary = (
                f"The deadline passed with {len(missing)} of {len(steps)} steps unanswered: "
                + ", ".join(missing)
                + "."
            )
            task_context = replace(context, task=task)
            data = report_data(state, steps, summary, task_context)
            reports.append(Reply(REPORT_PUBLISHED, data, task=task))
    finally:
        store.close()
    if not reports:
        return None
    first, *rest = reports
    return replace(first, emits=tuple(rest))


ROLE = Role(
    name="reporter",
    title="Reporter",
    goal="Report to a person what the team did for their task, and what failed.",
    instructions=INSTRUCTIONS,
    request_type=TASK_PLANNED,
    also_accepts=(
        REVIEW_COMPLETED,
        REVIEW_FAILED,
        CLUSTER_INSPECT_COMPLETED,
        CLUSTER_INSPECT_FAILED,
        CLUSTER_JOB_COMPLETED,
        CLUSTER_JOB_FAILED,
        TASK_FAILED,
        PING,
    ),
    reply_types=(REPORT_PUBLISHED,),
    prepare=prepare,
    finish=finish,
    answer_schema=ANSWER_SCHEMA,
    max_tool_calls=1,
)

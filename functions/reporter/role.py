"""The reporter, defined once: when a task's planned steps have all answered (or its
deadline has passed), the report is published.

The reporter writes the facts itself (each step's outcome and when it answered, the
findings, the observations, the Job's result): a model never restates them. The model
writes only the short summary at the top. Until the task is ready each event is only
recorded and answered with no reply. A report names every step that failed or never
answered, so a chain never just hangs.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
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
    schema_for,
)
from functions.reporter.store import ReportStore, TaskState
from shared.role import AgentStep, Context, DirectStep, Fallback, Prompt, Reply, Role

INSTRUCTIONS = """\
You write the two-sentence summary at the top of a task report for a person. You
get the goal, each step's outcome and its results. Say what matters most: the worst
finding, and what failed or is missing. Use only what the results say.

Answer with ONLY one JSON object, no prose around it: its "summary" holds your two
sentences."""

ANSWER_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"summary": {"type": "string", "minLength": 1, "maxLength": 300}},
    "required": ["summary"],
    "additionalProperties": False,
}
#: Worst first, as the finding's schema lists them.
SEVERITIES = tuple(
    schema_for(REVIEW_COMPLETED)["$defs"]["finding"]["properties"]["severity"]["enum"]
)
STEP_TITLES = {
    "dev.binks.review.requested": "Code review",
    "dev.binks.cluster.inspect.requested": "Cluster inspection",
    "dev.binks.cluster.job.requested": "Repository check (Job)",
    "dev.binks.task.requested": "Planning",
}


#: Every event the reporter records: the plan and each result a step can answer with.
RECORDED = (
    TASK_PLANNED,
    REVIEW_COMPLETED,
    REVIEW_FAILED,
    CLUSTER_INSPECT_COMPLETED,
    CLUSTER_INSPECT_FAILED,
    CLUSTER_JOB_COMPLETED,
    CLUSTER_JOB_FAILED,
    TASK_FAILED,
)


@dataclass(frozen=True)
class ReporterConfig:
    """What the reporter's handlers share: the task store of this variant, and the
    clock deadlines are measured with (seconds since the epoch)."""

    store: ReportStore
    clock: Callable[[], float] = time.time


def configure(env: Mapping[str, str], context: Context) -> ReporterConfig:
    """Open (or create) ``<state dir>/reporter-<variant>.tasks.sqlite3``."""
    path = context.state_dir / f"reporter-{context.variant}.tasks.sqlite3"
    return ReporterConfig(store=ReportStore(path))


def results_text(state: TaskState) -> str:
    """What the model is told about each result, one line each."""
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
    for failed in (REVIEW_FAILED, CLUSTER_INSPECT_FAILED, CLUSTER_JOB_FAILED, TASK_FAILED):
        if failed in state.parts:
            lines.append(f"{failed}: {state.parts[failed]['reason']}")
    return "\n".join(lines)


def summary_prompt(
    data: Mapping[str, Any], context: Context, config: ReporterConfig
) -> Prompt | None:
    """Record the event; ask the model for a summary once the task is ready to report."""
    now = config.clock()
    config.store.record(context.task, context.event_type, data, now)
    state = config.store.state(context.task)
    ready, steps = state.steps(now)
    if state.published or not ready:
        return None
    goal = (state.plan or {}).get("goal") or data.get("goal", "")
    status = "\n".join(f"- {STEP_TITLES.get(s['type'], s['type'])}: {outcome(s)}" for s in steps)
    return Prompt(f"Goal: {goal}\nSteps:\n{status}\nResults:\n{results_text(state) or '(none)'}")


def _cell(text: Any) -> str:
    """Text for one Markdown table cell: one line, no column breaks."""
    return " ".join(str(text).split()).replace("|", "\\|")


def completed_of(steps: list[dict[str, Any]]) -> str:
    """``2 of 3 steps completed``."""
    done = sum(step["status"] == "completed" for step in steps)
    return f"{done} of {len(steps)} steps completed"


def outcome(step: Mapping[str, Any]) -> str:
    """A step's outcome as the report shows it: ``completed``, ``failed: <reason>``..."""
    if step["status"] == "missing":
        return "missing: no answer before the deadline"
    if step.get("reason"):
        return f"{step['status']}: {step['reason']}"
    return step["status"]


def steps_table(steps: list[dict[str, Any]]) -> list[str]:
    """Each step: its outcome, when it answered (from the plan), what it found."""
    lines = ["| step | outcome | answered after | found |", "|---|---|---|---|"]
    for step in steps:
        after = step.get("answered_after_s")
        found = f"{step['findings']} findings" if "findings" in step else ""
        lines.append(
            f"| {STEP_TITLES.get(step['type'], step['type'])} | {_cell(outcome(step))} "
            f"| {f'{after:.1f} s' if after is not None else '-'} | {found} |"
        )
    return lines


def results_markdown(state: TaskState) -> list[str]:
    """The results as the steps answered them: findings and observations as tables,
    the Job's outcome and the end of its log."""
    lines: list[str] = []
    review = state.parts.get(REVIEW_COMPLETED)
    if review:
        lines += ["", f"## Code review of {review['repository']}", "", review["summary"], ""]
        if review["findings"]:
            lines += ["| severity | where | what |", "|---|---|---|"]
            lines += [
                f"| {f['severity']} | {_cell(f['path'])}:{f['line']} | {_cell(f['message'])} |"
                for f in review["findings"]
            ]
        else:
            lines.append("No findings.")
    inspect = state.parts.get(CLUSTER_INSPECT_COMPLETED)
    if inspect:
        lines += ["", f"## Namespace {inspect['namespace']}", "", inspect["summary"], ""]
        lines += ["| object | status | seen |", "|---|---|---|"]
        lines += [
            f"| {_cell(o['object'])} | {o['status']} | {_cell(o['message'])} |"
            for o in inspect["observations"]
        ]
    job = state.parts.get(CLUSTER_JOB_COMPLETED)
    if job:
        lines += ["", f"## Job {job['name']}", ""]
        said = f"`{job['image']}` in {job['namespace']}: **{job['outcome']}** after "
        said += f"{job['elapsed_ms'] / 1000:.1f} s."
        check = repository_check(job["logs"])
        if check:
            lines.append(f"{said} {check}")
        else:
            lines += [f"{said} The end of its log:", "", "```"]
            lines += [*job["logs"].splitlines()[-10:], "```"]
    return lines


def repository_check(logs: str) -> str:
    """The worker's result line (``python -m functions.worker check``) in words; empty
    when the log does not end with one."""
    last = (logs.strip().splitlines() or [""])[-1]
    try:
        result = json.loads(last)
    except ValueError:
        return ""
    if not isinstance(result, dict) or not {"files", "python_lines"} <= result.keys():
        return ""
    errors = result.get("syntax_errors_total", 0)
    problems = f"{errors} syntax errors" if errors else "no syntax errors"
    cut = " (stopped at its limits: partly checked)" if result.get("truncated") else ""
    return (
        f"The repository check read {result['files']} files: {result['python_lines']} lines "
        f"of Python, {problems}{cut}."
    )


def render_markdown(state: TaskState, steps: list[dict], summary: str, context: Context) -> str:
    """The human report: the model's summary on top, then the facts, written here."""
    plan = state.plan or {}
    lines = [
        f"# Report: {plan.get('goal', '(no plan)')}",
        "",
        f"Variant **{context.variant}**, model `{context.model}`, task `{context.task}`: "
        f"{completed_of(steps)}.",
        "",
        f"> {' '.join(summary.split())}",
        "",
        "## Steps",
        "",
        f"Plan: {plan.get('summary', '(none)')}",
        "",
        *steps_table(steps),
        *results_markdown(state),
    ]
    return "\n".join(lines) + "\n"


def publish_report(
    data: Mapping[str, Any], answer: dict[str, Any], context: Context, config: ReporterConfig
) -> Reply | None:
    """Publish the report once: the first instance to mark the task publishes it."""
    state = config.store.state(context.task)
    if not config.store.mark_published(context.task):
        return None  # another delivery published it meanwhile
    _, steps = state.steps(config.clock())
    summary = answer["summary"]
    if "unusable" in answer:  # the facts instead, and why the model's words are not there
        summary = f"{facts_summary(state, steps)} (The model's summary was unusable: "
        summary = (summary + answer["unusable"])[:590] + ".)"
    return Reply(REPORT_PUBLISHED, report_data(state, steps, summary, context, data))


def unusable_summary(problem: str) -> dict[str, Any]:
    """The report still goes out: :func:`publish_report` writes the summary from the facts
    and says why the model's was not used."""
    return {"summary": "", "unusable": problem}


def facts_summary(state: TaskState, steps: list[dict[str, Any]]) -> str:
    """One sentence of facts: how many steps completed, what the review found."""
    text = completed_of(steps)
    review = state.parts.get(REVIEW_COMPLETED)
    if review:
        severities = [f["severity"] for f in review["findings"]]
        worst = next((s for s in SEVERITIES if s in severities), None)
        found = f"{len(severities)} findings, the worst {worst}" if worst else "no findings"
        text += f"; the code review reported {found}"
    failed = [STEP_TITLES.get(s["type"], s["type"]) for s in steps if s["status"] != "completed"]
    if failed:
        text += f"; not completed: {', '.join(failed)}"
    return text + "."


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


def overdue_reports(
    data: Mapping[str, Any], context: Context, config: ReporterConfig
) -> Reply | None:
    """On a clock tick: the reports of every task past its deadline, without the model;
    the summary says what is missing (a step that never answers must not hold a report
    forever)."""
    store = config.store
    reports = []
    now = config.clock()
    for task in store.overdue(now):
        state = store.state(task)
        if not store.mark_published(task):
            continue
        _, steps = state.steps(now)
        missing = [STEP_TITLES.get(s["type"], s["type"]) for s in steps if s["status"] == "missing"]
        summary = (
            f"The deadline passed with {len(missing)} of {len(steps)} steps unanswered: "
            + ", ".join(missing)
            + "."
        )
        task_data = report_data(state, steps, summary, replace(context, task=task))
        reports.append(Reply(REPORT_PUBLISHED, task_data, task=task))
    if not reports:
        return None
    first, *rest = reports
    return replace(first, emits=tuple(rest))


SUMMARY = AgentStep(
    instructions=INSTRUCTIONS,
    ask=summary_prompt,
    answer_schema=ANSWER_SCHEMA,
    finish=publish_report,
    on_unusable_answer=Fallback(unusable_summary),
    max_tool_calls=1,
)

ROLE = Role(
    name="reporter",
    title="Reporter",
    goal="Report to a person what the team did for their task, and what failed.",
    request_type=TASK_PLANNED,
    handlers={**dict.fromkeys(RECORDED, SUMMARY), PING: DirectStep(overdue_reports)},
    reply_types=(REPORT_PUBLISHED,),
    configure=configure,
)

"""The reporter role: records plans and results, reports once, says what failed or is
missing; a clock tick reports overdue tasks; its app on both variants."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from events import (
    CLUSTER_INSPECT_FAILED,
    CLUSTER_JOB_COMPLETED,
    CLUSTER_JOB_REQUESTED,
    PING,
    REPORT_PUBLISHED,
    REVIEW_COMPLETED,
    REVIEW_FAILED,
    TASK_FAILED,
    TASK_PLANNED,
    VARIANTS,
    validate_data,
)
from functions.reporter.role import ROLE, ReporterConfig, configure
from shared.role import AgentTask, Context, run_step

from .apps import ScriptedRunner, role_app, send
from .reporter_data import PLAN, REVIEW

SUMMARY = json.dumps({"summary": "The review found one SQL injection."})


class Clock:
    """Seconds since the epoch, moved by the test."""

    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


class Reporter:
    """The reporter as the runtime runs it (``run_step``), with a clock the test moves."""

    def __init__(self, state_dir: Path) -> None:
        context = Context(variant="agno", model="m", workspace=state_dir, state_dir=state_dir)
        self.context = context
        self.clock = Clock()
        self.config = replace(configure({}, context), clock=self.clock)
        self.runner = ScriptedRunner("agno")

    def handle(self, event_type: str, data: dict, task: str = "t-1", answer: str = "") -> Any:
        """Handle one event of ``task``; ``answer`` is the model's, should it be asked."""
        if answer:
            self.runner.answers.append(answer)
        context = replace(self.context, event_type=event_type, task=task)
        reply = run_step(ROLE, self.runner, data, context, self.config)
        assert self.runner.answers == [], "the model was not asked for the answer given"
        return reply


@pytest.fixture
def reporter(tmp_path: Path) -> Reporter:
    return Reporter(tmp_path)


def test_nothing_is_reported_until_every_planned_step_answered(reporter: Reporter) -> None:
    assert reporter.handle(TASK_PLANNED, PLAN) is None and reporter.runner.tasks == []
    reporter.handle(REVIEW_COMPLETED, REVIEW, answer=SUMMARY)
    (task,) = reporter.runner.tasks
    assert task.tools == () and task.title == "Reporter"
    assert "Code review: completed" in task.prompt and "SQL injection" in task.prompt


def test_results_may_arrive_before_the_plan(reporter: Reporter) -> None:
    assert reporter.handle(REVIEW_COMPLETED, REVIEW) is None
    assert reporter.handle(TASK_PLANNED, PLAN, answer=SUMMARY).type == REPORT_PUBLISHED


def test_the_report_is_published_once_with_markdown(reporter: Reporter) -> None:
    reporter.handle(TASK_PLANNED, PLAN)
    reporter.clock.now += 42.54
    reply = reporter.handle(REVIEW_COMPLETED, REVIEW, answer=SUMMARY)
    assert reply.type == REPORT_PUBLISHED
    validate_data(REPORT_PUBLISHED, reply.data)
    assert reply.data["complete"] is True
    assert reply.data["steps"] == [
        {
            "type": "dev.binks.review.requested",
            "status": "completed",
            "findings": 1,
            "answered_after_s": 42.5,
        }
    ]
    assert reply.data["summary"] == "The review found one SQL injection."
    assert "# Report: review it" in reply.data["markdown"]
    assert "> The review found one SQL injection." in reply.data["markdown"]
    assert reporter.handle(REVIEW_COMPLETED, REVIEW) is None  # already published


def test_the_reporter_writes_the_facts_itself(reporter: Reporter) -> None:
    reporter.handle(TASK_PLANNED, PLAN)
    reporter.clock.now += 3
    markdown = reporter.handle(REVIEW_COMPLETED, REVIEW, answer=SUMMARY).data["markdown"]
    for row in (
        "1 of 1 steps completed.",
        "| Code review | completed | 3.0 s | 1 findings |",
        "| high | a.py:3 | SQL injection |",
        "Plan: review then report",
    ):
        assert row in markdown, markdown
    (task,) = reporter.runner.tasks  # the model is asked for the summary only
    assert task.answer_format is None and "two-sentence summary" in task.instructions


def test_a_report_published_meanwhile_by_another_delivery_is_not_sent_again(reporter) -> None:
    reporter.handle(TASK_PLANNED, PLAN)
    store = reporter.config.store

    class OtherDeliveryWins(ScriptedRunner):
        def run(self, task: AgentTask) -> str:
            assert store.mark_published("t-1")  # while this model run was going on
            return SUMMARY

    context = replace(reporter.context, event_type=REVIEW_COMPLETED, task="t-1")
    runner = OtherDeliveryWins("agno")
    assert run_step(ROLE, runner, REVIEW, context, reporter.config) is None
    assert reporter.handle(REVIEW_COMPLETED, REVIEW) is None  # published: nothing to ask


def test_a_failed_step_is_reported_as_failed(reporter: Reporter) -> None:
    reporter.handle(TASK_PLANNED, PLAN)
    failed = {
        "repository": "r",
        "error": "invalid_model_answer",
        "reason": "no JSON",
        "model": "m",
        "variant": "agno",
    }
    reply = reporter.handle(REVIEW_FAILED, failed, answer=SUMMARY)
    assert reply.data["complete"] is False
    assert reply.data["steps"][0] == {
        "type": "dev.binks.review.requested",
        "status": "failed",
        "reason": "no JSON",
        "answered_after_s": 0.0,
    }
    assert "| Code review | failed: no JSON | 0.0 s |  |" in reply.data["markdown"]


def test_a_failed_plan_is_reported_at_once(reporter: Reporter) -> None:
    failed = {
        "goal": "g",
        "error": "invalid_model_answer",
        "reason": "not a plan",
        "model": "m",
        "variant": "agno",
    }
    reply = reporter.handle(TASK_FAILED, failed, answer=SUMMARY)
    assert reply.data["steps"][0]["status"] == "failed" and reply.data["goal"] == "g"


def test_missing_steps_are_reported_after_the_deadline(reporter: Reporter) -> None:
    assert reporter.handle(TASK_PLANNED, {**PLAN, "deadline_s": 1}) is None
    reporter.clock.now += 1.1
    unplanned = {"namespace": "n", "error": "x", "reason": "late", "model": "m", "variant": "agno"}
    reply = reporter.handle(CLUSTER_INSPECT_FAILED, unplanned, answer="not json")
    assert reply.data["steps"][0]["status"] == "missing"
    assert "| Code review | missing: no answer before the deadline | - |" in reply.data["markdown"]


def test_an_unusable_summary_still_publishes_the_report_saying_so(reporter) -> None:
    reporter.handle(TASK_PLANNED, PLAN)
    reply = reporter.handle(REVIEW_COMPLETED, REVIEW, answer='{"summary": ""}')
    assert reply.type == REPORT_PUBLISHED and not reply.failed
    assert reply.data["summary"] == (
        "1 of 1 steps completed; the code review reported 1 findings, the worst high. "
        "(The model's summary was unusable: summary: '' should be non-empty.)"
    ), reply.data["summary"]


def test_a_clock_tick_reports_tasks_whose_steps_never_answered(reporter: Reporter) -> None:
    assert reporter.handle(TASK_PLANNED, {**PLAN, "deadline_s": 1}) is None
    assert reporter.handle(TASK_PLANNED, {**PLAN, "deadline_s": 1}, task="t-2") is None
    assert reporter.handle(PING, {"tick": True}, task="ping-1") is None  # nothing overdue yet
    reporter.clock.now += 1.1
    reply = reporter.handle(PING, {"tick": True}, task="ping-1")
    reports = [reply, *reply.emits]
    assert sorted(r.task for r in reports) == ["t-1", "t-2"]  # each under its own task
    for report in reports:
        assert report.type == REPORT_PUBLISHED and not report.data["complete"]
        validate_data(report.type, report.data)
        assert "1 of 1 steps unanswered: Code review" in report.data["summary"]
    assert reporter.handle(PING, {"tick": True}, task="ping-2") is None  # reported once
    assert reporter.handle(REVIEW_COMPLETED, REVIEW) is None  # a late result changes nothing
    assert reporter.runner.tasks == []  # a clock tick never asks the model


def test_a_failed_job_is_a_failed_step_with_its_conditions(reporter: Reporter) -> None:
    plan = {**PLAN, "steps": [{"type": CLUSTER_JOB_REQUESTED, "why": "count lines"}]}
    reporter.handle(TASK_PLANNED, plan)
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
    reply = reporter.handle(CLUSTER_JOB_COMPLETED, job, answer=SUMMARY)
    (step,) = reply.data["steps"]
    assert step["status"] == "failed" and "Failed=True" in step["reason"]
    assert "Repository check (Job)" in reply.data["markdown"] and "killed" in reply.data["markdown"]


def test_configure_opens_the_variant_s_store_in_the_state_dir(tmp_path: Path) -> None:
    context = Context(variant="crewai", model="m", workspace=tmp_path, state_dir=tmp_path / "s")
    config = configure({}, context)
    assert isinstance(config, ReporterConfig)
    assert (tmp_path / "s" / "reporter-crewai.tasks.sqlite3").is_file()


@pytest.mark.parametrize("variant", VARIANTS)
def test_variant_app_records_then_publishes_the_report(variant: str, tmp_path) -> None:
    runner = ScriptedRunner(variant, SUMMARY)
    client = role_app(ROLE, runner, tmp_path, BINKS_MODEL="m")
    recorded = send(client, TASK_PLANNED, PLAN, task="t-9")
    assert (recorded.status, recorded.data) == (202, None), recorded
    answered = send(client, REVIEW_COMPLETED, REVIEW, task="t-9")
    assert (answered.status, answered.type) == (200, REPORT_PUBLISHED), answered
    assert answered.headers["ce-binkstask"] == "t-9"
    assert (answered.data["variant"], answered.data["complete"]) == (variant, True)
    assert send(client, PING, {"tick": True}, task="tick-1").status == 202  # nothing overdue
    assert len(runner.tasks) == 1


@pytest.mark.parametrize("variant", VARIANTS)
def test_variant_app_with_an_unusable_summary_publishes_the_report(variant, tmp_path) -> None:
    client = role_app(ROLE, ScriptedRunner(variant, "I cannot summarise."), tmp_path)
    send(client, TASK_PLANNED, PLAN)
    answered = send(client, REVIEW_COMPLETED, REVIEW)
    assert (answered.status, answered.type) == (200, REPORT_PUBLISHED), answered
    assert answered.data["summary"].endswith(
        "(The model's summary was unusable: the answer contains no JSON object.)"
    ), answered.data["summary"]


def test_every_recorded_event_and_the_clock_tick_have_a_handler() -> None:
    assert set(ROLE.accepts) == {
        TASK_PLANNED,
        REVIEW_COMPLETED,
        REVIEW_FAILED,
        "dev.binks.cluster.inspect.completed",
        CLUSTER_INSPECT_FAILED,
        CLUSTER_JOB_COMPLETED,
        "dev.binks.cluster.job.failed",
        TASK_FAILED,
        PING,
    }


def test_the_repository_check_is_reported_in_words() -> None:
    from functions.reporter.role import repository_check

    line = '{"files": 3, "python_lines": 42, "syntax_errors_total": 1, "truncated": false}'
    assert repository_check("starting\n" + line + "\n") == (
        "The repository check read 3 files: 42 lines of Python, 1 syntax errors."
    )
    assert repository_check("killed\n") == ""

"""The code-reviewer role: request → prompt + tools, checked answer → reply event, and
its app on both variants (unusable answers fail once, as ``invalid_model_answer``)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from events import REVIEW_COMPLETED, REVIEW_FAILED, REVIEW_REQUESTED, VARIANTS, schema_for
from functions.code_reviewer.role import (
    REVIEW,
    ROLE,
    located_findings,
    review_completed,
    review_prompt,
)
from shared.errors import BadRequest
from shared.role import Context

from .apps import ScriptedRunner, role_app, send

REPO = Path(__file__).parents[2]
CONTEXT = Context(variant="crewai", model="m", workspace=REPO / "workspace", elapsed_ms=1234)
FINDING = {"path": "pricing.py", "line": 3, "severity": "low", "message": "m"}
WORKSPACE = {"BINKS_REPO_BASE": str(REPO / "workspace"), "BINKS_MODEL": "m"}


def test_the_prompt_comes_from_the_request_with_tools_bound_to_the_repository() -> None:
    request = {"repository": "sample-repo", "focus": "SQL", "paths": ["inventory.py"]}
    prompt = review_prompt(request, CONTEXT, None)
    assert "'sample-repo'" in prompt.text
    assert "Focus on: SQL." in prompt.text and "inventory.py" in prompt.text
    assert [tool.name for tool in prompt.tools] == ["list_files", "read_file", "search_text"]
    assert "inventory.py" in prompt.tools[0].function()
    assert "Its files: README.md (4 lines), inventory.py (28 lines), pricing.py (14 lines)." in (
        prompt.text
    ), prompt.text
    files = [("README.md", 4), ("inventory.py", 28), ("pricing.py", 14)]
    assert prompt.answer_schema == located_findings(REVIEW.answer_schema, files)


def test_a_finding_can_only_point_at_a_line_of_the_repository() -> None:
    from shared.answers import UnusableAnswer, check_answer

    schema = review_prompt({"repository": "sample-repo"}, CONTEXT, None).answer_schema
    check_answer({"summary": "s", "findings": [{**FINDING, "line": 14}]}, schema)
    for wrong in ({**FINDING, "line": 15}, {**FINDING, "path": "a.py"}):
        with pytest.raises(UnusableAnswer):
            check_answer({"summary": "s", "findings": [wrong]}, schema)


@pytest.mark.parametrize("repository", ["../", "/etc", "bench/no-such-repo"])
def test_the_prompt_refuses_repositories_it_may_not_read(repository: str) -> None:
    with pytest.raises(BadRequest):
        review_prompt({"repository": repository}, CONTEXT, None)


def test_the_reply_caps_findings_and_adds_run_facts() -> None:
    findings = [{**FINDING, "line": n, "message": f"m{n}"} for n in range(1, 6)]
    answer = {"summary": "s", "findings": findings}
    reply = review_completed({"repository": "r", "max_findings": 2}, answer, CONTEXT, None)
    assert reply.type == REVIEW_COMPLETED and not reply.failed
    assert reply.data == {
        "repository": "r",
        "model": "m",
        "variant": "crewai",
        "summary": "s",
        "findings": findings[:2],
        "duration_ms": 1234,
    }


def test_the_reply_names_each_finding_once() -> None:
    again = {**FINDING, "message": " M. ", "severity": "high", "line": 9}
    other = {**FINDING, "line": 4, "message": "another problem"}
    answer = {"summary": "s", "findings": [FINDING, again, other]}
    reply = review_completed({"repository": "r"}, answer, CONTEXT, None)
    assert reply.data["findings"] == [FINDING, other], reply.data["findings"]


def test_the_answer_schema_is_the_completed_event_s_own_fields() -> None:
    event = schema_for(REVIEW_COMPLETED)
    assert REVIEW.answer_schema["properties"]["summary"] == event["properties"]["summary"]
    assert REVIEW.answer_schema["required"] == ["summary", "findings"]


@pytest.mark.parametrize("variant", VARIANTS)
def test_variant_app_answers_with_the_checked_findings(variant: str, tmp_path) -> None:
    runner = ScriptedRunner(variant, json.dumps({"summary": "s", "findings": [FINDING]}))
    client = role_app(ROLE, runner, tmp_path, **WORKSPACE)
    answered = send(client, REVIEW_REQUESTED, {"repository": "sample-repo"})
    assert (answered.status, answered.type) == (200, REVIEW_COMPLETED), answered
    assert answered.data["findings"] == [FINDING] and answered.data["variant"] == variant
    (task,) = runner.tasks
    assert (task.title, task.max_tool_calls) == ("Code Reviewer", 8)
    assert task.instructions == REVIEW.instructions and task.answer_format is None


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        ("no json here", "no JSON object"),
        ('{"summary": "s", "findings": [{"path": "a", "line": 0}]}', "findings/0"),
        (
            json.dumps({"summary": "s", "findings": [{**FINDING, "path": "nowhere.py"}]}),
            "findings/0",
        ),
        (json.dumps({"summary": "<one or two sentences>", "findings": []}), "copies its prompt"),
        ('{"findings": []}', "summary"),
        ("{broken", "not a valid review"),
    ],
)
def test_variant_app_reports_an_unusable_answer_as_failed(variant, answer, reason, tmp_path):
    client = role_app(ROLE, ScriptedRunner(variant, answer), tmp_path, **WORKSPACE)
    answered = send(client, REVIEW_REQUESTED, {"repository": "sample-repo"})
    assert (answered.status, answered.type) == (200, REVIEW_FAILED), answered
    assert answered.data == {
        "repository": "sample-repo",
        "model": "m",
        "variant": variant,
        "error": "invalid_model_answer",
        "reason": answered.data["reason"],
    }
    assert answered.data["reason"].startswith("the model's answer is not a valid review: ")
    assert reason in answered.data["reason"], answered.data["reason"]


@pytest.mark.parametrize("variant", VARIANTS)
def test_variant_app_sends_the_checked_schema_as_structured_output(variant, tmp_path) -> None:
    runner = ScriptedRunner(variant, json.dumps({"summary": "s", "findings": []}))
    client = role_app(ROLE, runner, tmp_path, BINKS_STRUCTURED_ANSWER="true", **WORKSPACE)
    assert send(client, REVIEW_REQUESTED, {"repository": "sample-repo"}).status == 200
    asked = review_prompt({"repository": "sample-repo"}, CONTEXT, None)
    assert runner.tasks[0].answer_format == asked.answer_schema

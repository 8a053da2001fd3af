"""The code-reviewer role: request → prompt + tools, answer → reply event."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from functions.code_reviewer.role import ROLE
from shared.role import Context
from shared.runtime.errors import BadRequest

REPO = Path(__file__).parents[2]
CONTEXT = Context(variant="crewai", model="m", workspace=REPO / "workspace")
FINDING = {"path": "a.py", "line": 3, "severity": "low", "message": "m"}


def test_prepare_builds_the_prompt_from_the_request() -> None:
    request = {"repository": "sample-repo", "focus": "SQL", "paths": ["inventory.py"]}
    task = ROLE.prepare(request, CONTEXT)
    assert "'sample-repo'" in task.prompt
    assert "Focus on: SQL." in task.prompt and "inventory.py" in task.prompt
    assert [tool.name for tool in task.tools] == ["list_files", "read_file", "search_text"]
    assert "inventory.py" in task.tools[0].function()


@pytest.mark.parametrize("repository", ["../", "/etc", "bench/no-such-repo"])
def test_prepare_refuses_repositories_it_may_not_read(repository: str) -> None:
    with pytest.raises(BadRequest):
        ROLE.prepare({"repository": repository}, CONTEXT)


def test_finish_caps_findings_and_adds_run_facts() -> None:
    answer = json.dumps({"summary": "s", "findings": [FINDING] * 5})
    reply = ROLE.finish({"repository": "r", "max_findings": 2}, answer, CONTEXT, 1234)
    assert reply.type == "dev.binks.review.completed" and not reply.failed
    assert reply.data == {
        "repository": "r",
        "summary": "s",
        "findings": [FINDING, FINDING],
        "model": "m",
        "variant": "crewai",
        "duration_ms": 1234,
    }


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        ("no json here", "no JSON object"),
        ('{"summary": "s", "findings": [{"path": "a", "line": 0}]}', "findings/0"),
        ('{"findings": []}', "summary"),
        ("{broken", "not a valid review"),
    ],
)
def test_finish_reports_unusable_answers_as_failed(answer: str, reason: str) -> None:
    reply = ROLE.finish({"repository": "r"}, answer, CONTEXT, 5)
    assert reply.failed and reply.type == "dev.binks.review.failed"
    assert reply.data["error"] == "invalid_model_answer"
    assert reason in reply.data["reason"]

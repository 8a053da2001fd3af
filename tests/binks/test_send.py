"""``binks send``: the data checked before sending, several answers waited for, a failed
answer ending the wait with its reason; against a real platform and scripted model."""

from __future__ import annotations

import json

import pytest

from binks import cli
from binks.waiting import Answers, failure_of, wait
from localknative.launch import RunningPlatform

from .conftest import on


def test_a_functions_failure_is_the_sibling_of_its_answer() -> None:
    assert failure_of("dev.binks.review.completed") == "dev.binks.review.failed"
    assert failure_of("dev.binks.report.published") == "dev.binks.report.failed"


def test_a_wait_counts_failed_answers_and_reports_the_tasks_events() -> None:
    def row(seq: int, kind: str, variant: str) -> dict:
        attributes = {"type": kind, "binksvariant": variant, "source": f"/f/x-{variant}"}
        return {"seq": seq, "origin": "reply", "attributes": attributes}

    rows = [
        row(1, "dev.binks.task.planned", "agno"),
        row(2, "dev.binks.review.completed", "agno"),
        row(3, "dev.binks.review.failed", "crewai"),
    ]
    lines: list[str] = []
    answers = wait(
        lambda seq: [r for r in rows if r["seq"] > seq],
        lambda seq: {"seq": seq},
        ("dev.binks.review.completed",),
        count=2,
        timeout_s=5,
        on_line=lines.append,
    )
    print(lines)
    assert isinstance(answers, Answers) and answers.count == 2
    assert [r["seq"] for r in answers.found] == [2] and [r["seq"] for r in answers.failed] == [3]
    assert len(lines) == 3 and "dev.binks.task.planned" in lines[0] and "(agno)" in lines[0]


def _send(platform: RunningPlatform, *argv: str) -> int:
    options = on(platform)
    return cli.main(["send", *options, *argv])


@pytest.mark.process
@pytest.mark.parametrize("platform", [{"summary": "fine", "findings": []}], indirect=True)
def test_data_that_breaks_the_schema_is_refused_before_sending(
    platform: RunningPlatform, capsys: pytest.CaptureFixture[str]
) -> None:
    code = _send(platform, "--type", "dev.binks.review.requested", "--field", "repo=x")
    err = capsys.readouterr().err
    print(err)
    assert code == 2 and "does not fit dev.binks.review.requested" in err
    assert "repository" in err and "sent" not in err


@pytest.mark.process
@pytest.mark.parametrize("platform", [{"summary": "fine", "findings": []}], indirect=True)
def test_count_waits_for_an_answer_from_each_variant(
    platform: RunningPlatform, capsys: pytest.CaptureFixture[str]
) -> None:
    code = _send(
        platform,
        *("--type", "dev.binks.review.requested", "--field", "repository=sample-repo"),
        *("--wait-for", "dev.binks.review.completed", "--count", "2", "--timeout", "120"),
    )
    captured = capsys.readouterr()
    print(captured.err)
    assert code == 0
    answers = _documents(captured.out)
    assert sorted(a["attributes"]["binksvariant"] for a in answers) == ["agno", "crewai"]
    assert "dev.binks.review.completed  from code-reviewer-agno (agno)" in captured.err


@pytest.mark.process
@pytest.mark.parametrize("platform", [{"summary": 5}], indirect=True)
def test_a_failed_answer_ends_the_wait_with_its_reason(
    platform: RunningPlatform, capsys: pytest.CaptureFixture[str]
) -> None:
    code = _send(
        platform,
        *("--type", "dev.binks.review.requested", "--field", "repository=sample-repo"),
        *("--wait-for", "dev.binks.review.completed", "--timeout", "120"),
        *("-e", "binksvariant=agno"),
    )
    err = capsys.readouterr().err
    print(err)
    assert code == 1
    assert "failed: dev.binks.review.failed from agno: " in err


def _documents(text: str) -> list[dict]:
    """The JSON documents ``print_event`` wrote one after another."""
    decoder, documents, index = json.JSONDecoder(), [], 0
    while index < len(text.rstrip()):
        document, end = decoder.raw_decode(text, index)
        documents.append(document)
        index = end + len(text[end:]) - len(text[end:].lstrip())
    return documents

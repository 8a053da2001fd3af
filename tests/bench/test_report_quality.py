"""``bench/report_quality.py``: what counts as placeholder text, a repeated sentence and
a located finding (the run itself needs the embedded model: ``python -m bench.report_quality``)."""

from __future__ import annotations

import pytest

from bench.report_quality import (
    assess,
    located,
    placeholders,
    repeated_sentences,
    table,
    totals,
)


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("<one or two sentences>", ["<one or two sentences>"]),
        (
            "see `- [critical] <path>:1 <what is wrong and why>`",
            ["<path>", "<what is wrong and why>"],
        ),
        (
            "No more tool calls are possible: give your final response now.",
            ["No more tool calls are possible"],
        ),
        ("The loop skips the first price.", []),
        ("x < y > z", []),
    ],
)
def test_placeholders_are_template_slots_and_model_instructions(text: str, found: list) -> None:
    assert placeholders([text]) == found, placeholders([text])


def test_a_sentence_written_twice_is_repeated_short_fragments_are_not() -> None:
    loop = "The team has been working on a project for a long time. " * 3
    assert repeated_sentences([loop, "None.", "None."]) == [
        "the team has been working on a project for a long time."
    ]
    assert repeated_sentences(["One thing.", "Another thing entirely."]) == []


def test_a_finding_is_located_when_its_file_and_line_exist() -> None:
    assert located({"path": "pricing.py", "line": 14})
    assert not located({"path": "pricing.py", "line": 15})
    assert not located({"path": "nowhere.py", "line": 1})
    assert not located({"path": "../../README.md", "line": 1})  # outside the sample


def test_assess_and_totals_count_per_variant() -> None:
    events = {
        "dev.binks.report.published": {"summary": "<at most three sentences>", "steps": []},
        "dev.binks.review.completed": {
            "summary": "Two bugs.",
            "findings": [
                {"path": "pricing.py", "line": 12, "message": "skips the first price"},
                {"path": "a.py", "line": 1, "message": "made up"},
            ],
        },
    }
    seen = assess(events)
    assert (seen["review"], seen["findings"], seen["located_findings"]) == ("completed", 2, 1)
    assert seen["placeholders"] == ["<at most three sentences>"]
    counts = totals([{"variants": {"agno": seen}}])
    assert counts["agno"]["with_placeholders"] == 1
    assert counts["agno"]["reviews_with_located_finding"] == 1
    assert counts["agno"]["reviews_with_known_bug"] == 1  # pricing.py:12
    assert "| agno | 1/1 | 1 | 0 | 1/1 | 1/1 | 1/1 |" in table(counts, 1)


def test_a_failure_reason_quoting_a_refused_answer_is_not_placeholder_text() -> None:
    reason = "the model's answer is not a valid review: it copies its prompt: '<file>'"
    events = {"dev.binks.review.failed": {"reason": reason, "repository": "sample-repo"}}
    assert assess(events)["placeholders"] == []


def test_an_empty_format_slot_is_placeholder_text_in_a_summary_only() -> None:
    events = {
        "dev.binks.report.published": {"summary": "The team did {} for their task."},
        "dev.binks.review.completed": {
            "summary": "One bug.",
            "findings": [{"path": "pricing.py", "line": 4, "message": "default {} is shared"}],
        },
    }
    assert assess(events)["placeholders"] == ["{}"]

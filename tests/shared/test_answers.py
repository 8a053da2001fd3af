"""Reading a model's final answer: the JSON object in it, checked against a schema."""

from __future__ import annotations

import json

import pytest

from shared.answers import UnusableAnswer, check_answer, parse_json_answer, read_answer

SCHEMA = {
    "type": "object",
    "properties": {"n": {"type": "integer"}, "s": {"type": "string", "minLength": 1}},
    "required": ["n", "s"],
    "additionalProperties": False,
}


@pytest.mark.parametrize(
    "text",
    [
        json.dumps({"summary": "s", "findings": []}),
        'Here you go:\n```json\n{"summary": "s", "findings": []}\n```',
        'Sure! {"summary": "s", "findings": []} Hope it helps.',
    ],
)
def test_parse_tolerates_fences_and_prose(text: str) -> None:
    assert parse_json_answer(text) == {"summary": "s", "findings": []}


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("no json here", "the answer contains no JSON object"),
        ("[1, 2]", "the answer contains no JSON object"),
        ("{broken", "the answer contains no JSON object"),
        ("{broken}", "Expecting property name enclosed in double quotes"),
    ],
)
def test_parse_refuses_what_is_not_an_object(text: str, problem: str) -> None:
    with pytest.raises(UnusableAnswer) as refused:
        parse_json_answer(text)
    assert problem in str(refused.value), str(refused.value)


def test_check_names_every_field_that_breaks_the_schema() -> None:
    check_answer({"n": 1, "s": "x"}, SCHEMA)
    with pytest.raises(UnusableAnswer) as refused:
        check_answer({"n": "x", "s": "", "extra": True}, SCHEMA)
    assert str(refused.value) == (
        "(answer): Additional properties are not allowed ('extra' was unexpected); "
        "n: 'x' is not of type 'integer'; "
        "s: '' should be non-empty"
    )


def test_an_unusable_answer_is_a_value_error() -> None:
    assert issubclass(UnusableAnswer, ValueError)


def test_read_parses_then_checks() -> None:
    assert read_answer('ok: {"n": 2, "s": "y"}', SCHEMA) == {"n": 2, "s": "y"}
    with pytest.raises(UnusableAnswer) as refused:
        read_answer('{"n": 2}', SCHEMA)
    assert str(refused.value) == "(answer): 's' is a required property"


INSTRUCTIONS = (
    "You review source code for real defects: wrong results, crashes, security holes, "
    'resource leaks. Answer {"path": "<file>", "message": "<what is wrong and why>"}'
)
SCHEMA_TEXT = {"type": "object", "properties": {"s": {"type": "string"}}}


@pytest.mark.parametrize(
    ("answer", "copied"),
    [
        ({"s": "<one or two sentences>"}, "'<one or two sentences>'"),
        ({"s": "see <file> line 3"}, "'<file>'"),  # a one-word slot the instructions show
        ({"s": "No more tool calls are possible: give your final response now."}, "no more"),
        ({"s": "The project was developed by {team member}."}, "'{team member}'"),
        ({"s": "The team did {} for their task, and failed to achieve {}."}, "The team did {}"),
        (
            {"s": "I review source code for real defects: wrong results, crashes, security holes"},
            "source code for real defects wrong results crashes security",
        ),
    ],
)
def test_an_answer_that_copies_its_prompt_is_unusable(answer: dict, copied: str) -> None:
    with pytest.raises(UnusableAnswer) as refused:
        read_answer(json.dumps(answer), SCHEMA_TEXT, INSTRUCTIONS)
    assert "copies its prompt" in str(refused.value) and copied in str(refused.value), str(
        refused.value
    )


@pytest.mark.parametrize(
    "text",
    [
        "Rendering the name unescaped lets a <script> tag run in the page.",  # not in the prompt
        "x < y and y > z are compared the wrong way round.",
        "The mutable default {} is shared by every call.",
        "The dict literal {key: value} is rebuilt on every call.",
        "The loop skips the first price: wrong results for every total.",
    ],
)
def test_an_answer_in_its_own_words_is_read(text: str) -> None:
    assert read_answer(json.dumps({"s": text}), SCHEMA_TEXT, INSTRUCTIONS) == {"s": text}


@pytest.mark.parametrize("text", ["},", ":{", " - "])
def test_a_string_of_punctuation_says_nothing(text: str) -> None:
    with pytest.raises(UnusableAnswer, match="says nothing"):
        read_answer(json.dumps({"s": text}), SCHEMA_TEXT)
    assert read_answer(json.dumps({"s": ""}), SCHEMA_TEXT) == {"s": ""}  # empty: the schema's call

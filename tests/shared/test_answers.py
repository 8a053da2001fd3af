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

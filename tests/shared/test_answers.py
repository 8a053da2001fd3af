"""Reading a model's final answer: the JSON object in it, checked against a schema."""

from __future__ import annotations

import json

import pytest

from shared.answers import check_answer
from shared.answers import parse_json_answer as parse_answer


@pytest.mark.parametrize(
    "text",
    [
        json.dumps({"summary": "s", "findings": []}),
        'Here you go:\n```json\n{"summary": "s", "findings": []}\n```',
        'Sure! {"summary": "s", "findings": []} Hope it helps.',
    ],
)
def test_parse_answer_tolerates_fences_and_prose(text: str) -> None:
    assert parse_answer(text) == {"summary": "s", "findings": []}


@pytest.mark.parametrize("text", ["no json here", "[1, 2]", "{broken"])
def test_parse_answer_refuses_what_is_not_an_object(text: str) -> None:
    with pytest.raises(ValueError):
        parse_answer(text)


def test_check_answer_names_the_field() -> None:
    schema = {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]}
    check_answer({"n": 1}, schema)
    with pytest.raises(ValueError, match="n: 'x' is not of type 'integer'"):
        check_answer({"n": "x"}, schema)

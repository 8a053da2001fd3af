"""Reading a model's final answer: the JSON object in it, checked against a schema.

:func:`read_answer` is the one way an answer is read; the runtime calls it once per
agent run, with the answer schema of the step that asked.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from jsonschema import Draft202012Validator

_FENCE = re.compile(r"```(?:json)?\s*(.*?)```", re.DOTALL)


class UnusableAnswer(ValueError):
    """A final answer that is no JSON object, or one that breaks the answer schema."""


def parse_json_answer(text: str) -> dict[str, Any]:
    """Extract the JSON object from a final answer (code fences and prose tolerated)."""
    fenced = _FENCE.search(text)
    candidate = fenced.group(1) if fenced else text
    start, end = candidate.find("{"), candidate.rfind("}")
    if start < 0 or end < start:
        raise UnusableAnswer("the answer contains no JSON object")
    try:
        answer = json.loads(candidate[start : end + 1])
    except ValueError as problem:
        raise UnusableAnswer(str(problem)) from None
    if not isinstance(answer, dict):
        raise UnusableAnswer("the answer is not a JSON object")
    return answer


def check_answer(answer: Mapping[str, Any], schema: Mapping[str, Any]) -> None:
    """Raise :class:`UnusableAnswer` naming every field of ``answer`` that breaks ``schema``
    (``path: problem``, joined by ``; ``; ``(answer)`` is the object itself)."""
    problems = [
        ("/".join(str(part) for part in error.absolute_path) or "(answer)", error.message)
        for error in Draft202012Validator(schema).iter_errors(answer)
    ]
    if problems:
        raise UnusableAnswer("; ".join(f"{path}: {message}" for path, message in sorted(problems)))


def read_answer(text: str, schema: Mapping[str, Any]) -> dict[str, Any]:
    """The JSON object in ``text``, checked against ``schema``; else :class:`UnusableAnswer`."""
    answer = parse_json_answer(text)
    check_answer(answer, schema)
    return answer

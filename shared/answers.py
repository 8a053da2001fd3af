"""Reading a model's final answer: the JSON object in it, checked against a schema."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from jsonschema import Draft202012Validator

_FENCE = re.compile(r"```(?:json)?\s*(.*?)```", re.DOTALL)


def parse_json_answer(text: str) -> dict[str, Any]:
    """Extract the JSON object from a final answer (code fences and prose tolerated)."""
    fenced = _FENCE.search(text)
    candidate = fenced.group(1) if fenced else text
    start, end = candidate.find("{"), candidate.rfind("}")
    if start < 0 or end < start:
        raise ValueError("the answer contains no JSON object")
    answer = json.loads(candidate[start : end + 1])
    if not isinstance(answer, dict):
        raise ValueError("the answer is not a JSON object")
    return answer


def check_answer(answer: Mapping[str, Any], schema: Mapping[str, Any]) -> None:
    """Raise ValueError naming the first field of ``answer`` that breaks ``schema``."""
    problem = next(iter(sorted(Draft202012Validator(schema).iter_errors(answer), key=str)), None)
    if problem is not None:
        field = "/".join(str(p) for p in problem.absolute_path) or "(answer)"
        raise ValueError(f"{field}: {problem.message}")

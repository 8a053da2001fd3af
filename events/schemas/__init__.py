"""Load the per-event JSON Schemas and check event data against them."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

_HERE = Path(__file__).parent
_EXAMPLES = _HERE.parent / "examples"


class DataError(ValueError):
    """Event data that does not match its schema; ``errors`` maps field → problem."""

    def __init__(self, event_type: str, errors: dict[str, str]) -> None:
        self.event_type = event_type
        self.errors = errors
        detail = "; ".join(f"{field}: {problem}" for field, problem in errors.items())
        super().__init__(f"data of {event_type} is invalid: {detail}")


def known_types() -> tuple[str, ...]:
    """Every event type that has a schema, sorted."""
    return tuple(sorted(p.name.removesuffix(".json") for p in _HERE.glob("*.json")))


@cache
def schema_for(event_type: str) -> dict[str, Any]:
    """Return the JSON Schema of ``event_type``'s data; KeyError if there is none."""
    path = _HERE / f"{event_type}.json"
    if not path.is_file():
        raise KeyError(event_type)
    return json.loads(path.read_text(encoding="utf-8"))


@cache
def _validator(event_type: str) -> Draft202012Validator:
    return Draft202012Validator(schema_for(event_type))


def validate_data(event_type: str, data: Any) -> None:
    """Raise :class:`DataError` naming every field of ``data`` that breaks the schema."""
    problems = sorted(_validator(event_type).iter_errors(data), key=lambda e: list(e.path))
    if problems:
        errors: dict[str, str] = {}
        for problem in problems:
            field = "/".join(str(part) for part in problem.absolute_path) or "(data)"
            errors[field] = (
                f"{errors[field]}; {problem.message}" if field in errors else problem.message
            )
        raise DataError(event_type, errors)


def answer_schema(event_type: str, fields: tuple[str, ...]) -> dict[str, Any]:
    """The part of ``event_type``'s data a model writes: ``fields`` only, refs inlined.

    Model servers turn this into constrained decoding, and some cannot follow ``$ref``.
    """
    schema = schema_for(event_type)
    definitions = schema.get("$defs", {})

    def inline(node: Any) -> Any:
        if isinstance(node, dict):
            if "$ref" in node:
                return inline(definitions[node["$ref"].rsplit("/", 1)[-1]])
            return {key: inline(value) for key, value in node.items()}
        if isinstance(node, list):
            return [inline(item) for item in node]
        return node

    return {
        "type": "object",
        "properties": {name: inline(schema["properties"][name]) for name in fields},
        "required": list(fields),
        "additionalProperties": False,
    }


def load_example(name: str) -> dict[str, Any]:
    """Return one example event (structured JSON) from ``events/examples/``."""
    return json.loads((_EXAMPLES / f"{name}.json").read_text(encoding="utf-8"))

"""The event contract: schemas are valid, examples follow them, errors name fields."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from events import EVENT_TYPES, DataError, load_example, schema_for, validate_data
from events.schemas import known_types
from shared.wire import decode

EXAMPLES = sorted(p.stem for p in (Path(__file__).parents[2] / "events/examples").glob("*.json"))


def test_every_event_type_has_a_schema_and_nothing_else_does() -> None:
    assert set(known_types()) == set(EVENT_TYPES)


@pytest.mark.parametrize("event_type", EVENT_TYPES)
def test_schema_is_valid_draft_2020_12(event_type: str) -> None:
    Draft202012Validator.check_schema(schema_for(event_type))


@pytest.mark.parametrize("name", EXAMPLES)
def test_example_is_a_valid_cloudevent_whose_data_follows_its_schema(name: str) -> None:
    example = load_example(name)
    incoming = decode(
        {"content-type": "application/cloudevents+json"}, json.dumps(example).encode()
    )
    assert incoming.type in EVENT_TYPES
    validate_data(incoming.type, incoming.data)


def test_data_error_names_every_bad_field() -> None:
    with pytest.raises(DataError) as caught:
        validate_data(
            "dev.binks.review.requested",
            {"repository": "", "max_findings": 0, "colour": "blue"},
        )
    errors = caught.value.errors
    assert set(errors) == {"(data)", "repository", "max_findings"}
    assert "colour" in errors["(data)"]


def test_unknown_type_has_no_schema() -> None:
    with pytest.raises(KeyError):
        schema_for("dev.binks.nothing")

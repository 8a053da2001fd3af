"""Prompt rendering and output constraints (pure functions)."""

from __future__ import annotations

import json

import pytest

from modelserver.prompting import (
    JSON_OBJECT,
    MAX_ITEMS,
    MAX_STRING,
    bounded,
    format_schema,
    read_tool_answer,
    render_history,
    tool_answer_schema,
    tool_specs,
)

TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "read_file",
            "description": "Read a file.",
            "parameters": {"type": "object", "properties": {"path": {"type": "string"}}},
        },
    }
]


def test_bounded_limits_strings_arrays_and_closes_objects() -> None:
    schema = {
        "title": "x",
        "type": "object",
        "properties": {
            "names": {"type": "array", "items": {"type": "string"}},
            "kind": {"enum": ["a", "b"]},
            "note": {"type": "string", "maxLength": 5},
        },
    }
    out = bounded(schema)
    assert "title" not in out and out["additionalProperties"] is False
    assert out["properties"]["names"]["maxItems"] == MAX_ITEMS
    assert out["properties"]["names"]["items"]["maxLength"] == MAX_STRING
    assert out["properties"]["note"]["maxLength"] == 5
    assert "maxLength" not in out["properties"]["kind"]
    assert schema["properties"]["names"] == {"type": "array", "items": {"type": "string"}}


@pytest.mark.parametrize(("fmt", "expected"), [(None, None), ("", None), ("json", JSON_OBJECT)])
def test_format_schema_forms(fmt, expected) -> None:
    assert format_schema(fmt) == expected


def test_format_schema_refuses_other_strings() -> None:
    with pytest.raises(ValueError, match="format must be"):
        format_schema("yaml")


def test_tool_answer_schema_is_one_call_per_tool_or_a_response() -> None:
    answer = {"type": "object", "properties": {"ok": {"type": "boolean"}}}
    schema = tool_answer_schema(tool_specs(TOOLS), answer)
    call, final = schema["anyOf"]
    assert call["properties"]["tool_call"]["properties"]["name"] == {"const": "read_file"}
    assert final["properties"]["response"] == answer


def test_tool_specs_need_named_functions() -> None:
    with pytest.raises(ValueError, match="name"):
        tool_specs([{"type": "function", "function": {}}])


def test_history_renders_tool_calls_and_results_as_text_turns() -> None:
    messages = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Read a.py"},
        {
            "role": "assistant",
            "content": "",
            "tool_calls": [{"function": {"name": "read_file", "arguments": '{"path": "a.py"}'}}],
        },
        {"role": "tool", "tool_name": "read_file", "content": "1: print()"},
    ]
    rendered = render_history(messages, "TOOLS HERE")
    assert rendered[0] == {"role": "system", "content": "Be brief.\n\nTOOLS HERE"}
    assert json.loads(rendered[2]["content"]) == {
        "tool_call": {"name": "read_file", "arguments": {"path": "a.py"}}
    }
    assert rendered[3] == {"role": "user", "content": "Result of read_file:\n1: print()"}


def test_history_refuses_unknown_roles() -> None:
    with pytest.raises(ValueError, match="role"):
        render_history([{"role": "robot", "content": "x"}], None)


@pytest.mark.parametrize(
    ("text", "structured", "expected"),
    [
        ('{"tool_call": {"name": "f", "arguments": {"a": 1}}}', False, ("", [("f", {"a": 1})])),
        ('{"response": "done"}', False, ("done", [])),
        ('{"response": {"ok": true}}', True, ('{"ok": true}', [])),
        ("not json", False, ("not json", [])),
    ],
)
def test_read_tool_answer(text: str, structured: bool, expected) -> None:
    assert read_tool_answer(text, structured) == expected

"""Prompt rendering and output constraints for a small base model.

The model ships without a chat template or tool-call format, so we give it both:
Gemma's turn markers, and tools described in the system turn with every answer
constrained (JSON-schema grammar) to either one tool call or a final response.
All schemas are bounded (maxLength / maxItems / closed objects) so a weak model
cannot ramble until ``num_predict`` runs out. Pure functions only.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

GEMMA_TEMPLATE = """\
{%- if messages[0]['role'] == 'system' -%}
{%- set system = messages[0]['content'] -%}
{%- set turns = messages[1:] -%}
{%- else -%}
{%- set system = '' -%}
{%- set turns = messages -%}
{%- endif -%}
{%- for message in turns -%}
<start_of_turn>{{ 'model' if message['role'] == 'assistant' else 'user' }}
{% if loop.first and system %}{{ system | trim }}

{% endif %}{{ message['content'] | trim }}<end_of_turn>
{% endfor -%}
{%- if add_generation_prompt %}<start_of_turn>model
{% endif -%}
"""

MAX_STRING = 1000
#: ``format: "json"`` for a base model: a JSON object of at most 6 members whose
#: values are scalars or short lists, every string at most 60 characters. A JSON
#: Schema cannot bound the member count of a free-form object (maxProperties is
#: not enforced by the grammar), a GBNF grammar can: the worst case is ~250
#: tokens, so the object closes before a sane ``num_predict`` runs out.
JSON_OBJECT_GRAMMAR = r"""
root   ::= "{" ws ( member ( "," ws member ){0,5} )? ws "}"
member ::= string ws ":" ws value
value  ::= scalar | "[" ws ( scalar ( "," ws scalar ){0,5} )? ws "]"
scalar ::= string | number | "true" | "false" | "null"
string ::= "\"" char{0,60} "\""
char   ::= [^"\\\x7F\x00-\x1F] | "\\" ["\\/bfnrt]
number ::= "-"? [0-9]{1,12} ( "." [0-9]{1,6} )?
ws     ::= [ \n]{0,2}
"""
JSON_OBJECT = {"type": "object"}
MAX_ITEMS = 20
MAX_TOOL_ARGUMENT = 300


def bounded(schema: Any, max_string: int = MAX_STRING) -> Any:
    """A copy of ``schema`` in which every string, array and object is bounded."""
    if not isinstance(schema, Mapping):
        return schema
    out = {k: v for k, v in schema.items() if k not in ("title", "$schema", "$id")}
    kind = out.get("type")
    kinds = kind if isinstance(kind, list) else [kind]
    if "string" in kinds and not {"enum", "const", "pattern", "format"} & out.keys():
        out["maxLength"] = min(out.get("maxLength", max_string), max_string)
    if "array" in kinds:
        out["maxItems"] = min(out.get("maxItems", MAX_ITEMS), MAX_ITEMS)
    if "object" in kinds and "properties" in out:
        out.setdefault("additionalProperties", False)
    for key in ("properties", "$defs", "definitions"):
        if isinstance(out.get(key), Mapping):
            out[key] = {name: bounded(sub, max_string) for name, sub in out[key].items()}
    for key in ("items", "additionalProperties", "not"):
        if isinstance(out.get(key), Mapping):
            out[key] = bounded(out[key], max_string)
    for key in ("anyOf", "oneOf", "allOf", "prefixItems"):
        if isinstance(out.get(key), list):
            out[key] = [bounded(sub, max_string) for sub in out[key]]
    return out


def format_schema(fmt: Any) -> dict[str, Any] | None:
    """Ollama's ``format``: ``"json"``, a JSON Schema, or nothing."""
    if fmt in (None, ""):
        return None
    if fmt == "json":
        return JSON_OBJECT
    if isinstance(fmt, Mapping):
        return bounded(fmt)
    raise ValueError(f'format must be "json" or a JSON schema object, got {fmt!r}')


def tool_specs(tools: list[Any]) -> list[dict[str, Any]]:
    """Normalise Ollama/OpenAI tool definitions to ``{name, description, parameters}``."""
    specs = []
    for tool in tools:
        function = tool.get("function") if isinstance(tool, Mapping) else None
        if not isinstance(function, Mapping) or not function.get("name"):
            raise ValueError("each tool needs a function with a name")
        parameters = function.get("parameters") or {"type": "object", "properties": {}}
        specs.append(
            {
                "name": str(function["name"]),
                "description": str(function.get("description") or ""),
                "parameters": parameters,
            }
        )
    return specs


def tool_answer_schema(specs: list[dict[str, Any]], answer: dict[str, Any] | None) -> dict:
    """Either ``{"tool_call": {"name", "arguments"}}`` for one tool, or ``{"response": ...}``."""
    calls = [
        {
            "type": "object",
            "properties": {
                "tool_call": {
                    "type": "object",
                    "properties": {
                        "name": {"const": spec["name"]},
                        "arguments": bounded(spec["parameters"], MAX_TOOL_ARGUMENT),
                    },
                    "required": ["name", "arguments"],
                    "additionalProperties": False,
                }
            },
            "required": ["tool_call"],
            "additionalProperties": False,
        }
        for spec in specs
    ]
    response = answer or {"type": "string", "maxLength": MAX_STRING}
    final = {
        "type": "object",
        "properties": {"response": response},
        "required": ["response"],
        "additionalProperties": False,
    }
    return {"anyOf": [*calls, final]}


def tool_instructions(specs: list[dict[str, Any]]) -> str:
    """The system-turn text that tells the model about its tools and answer shape."""
    lines = [
        "You can call tools. Answer with exactly one JSON object:",
        '{"tool_call": {"name": "<tool>", "arguments": {...}}} to call one tool, or',
        '{"response": ...} when you have the final answer.',
        "Tools:",
    ]
    for spec in specs:
        parameters = json.dumps(spec["parameters"].get("properties", {}), separators=(",", ":"))
        lines.append(f"- {spec['name']}: {spec['description']} Arguments: {parameters}")
    return "\n".join(lines)


def render_history(messages: list[Mapping[str, Any]], instructions: str | None) -> list[dict]:
    """Messages as plain role/content turns the template can render.

    Earlier tool calls become the JSON the model is asked to write; tool results
    become user turns naming the tool. ``instructions`` join the system turn.
    """
    rendered: list[dict[str, str]] = []
    for message in messages:
        role = message.get("role")
        content = _text(message.get("content"))
        if role == "assistant" and message.get("tool_calls"):
            for call in message["tool_calls"]:
                function = call.get("function", {})
                arguments = function.get("arguments", {})
                if isinstance(arguments, str):
                    arguments = _json_or_text(arguments)
                payload = {"tool_call": {"name": function.get("name"), "arguments": arguments}}
                rendered.append({"role": "assistant", "content": json.dumps(payload)})
        elif role == "tool":
            name = message.get("tool_name") or message.get("name") or "tool"
            rendered.append({"role": "user", "content": f"Result of {name}:\n{content}"})
        elif role in ("system", "user", "assistant"):
            rendered.append({"role": role, "content": content})
        else:
            raise ValueError(f"unknown message role {role!r}")
    if instructions:
        if rendered and rendered[0]["role"] == "system":
            rendered[0] = {
                "role": "system",
                "content": rendered[0]["content"] + "\n\n" + instructions,
            }
        else:
            rendered.insert(0, {"role": "system", "content": instructions})
    return rendered


def read_tool_answer(text: str, structured: bool) -> tuple[str, list[tuple[str, dict]]]:
    """(content, tool calls) from a constrained tool-mode answer."""
    answer = _json_or_text(text)
    if not isinstance(answer, Mapping):
        return text, []
    call = answer.get("tool_call")
    if isinstance(call, Mapping):
        arguments = call.get("arguments")
        return "", [
            (str(call.get("name")), dict(arguments) if isinstance(arguments, Mapping) else {})
        ]
    response = answer.get("response", text)
    if structured or not isinstance(response, str):
        return json.dumps(response), []
    return response, []


def _text(content: Any) -> str:
    if content is None:
        return ""
    if isinstance(content, list):  # OpenAI content parts
        return "".join(part.get("text", "") for part in content if isinstance(part, Mapping))
    return str(content)


def _json_or_text(text: str) -> Any:
    try:
        return json.loads(text)
    except (json.JSONDecodeError, TypeError):
        return text

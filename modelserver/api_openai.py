"""Ollama's OpenAI-compatible API (``/v1/*``), which crewai's LLM layer calls."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

from flask import Blueprint, Response, current_app, jsonify

from modelserver.api_ollama import body, card, resolve
from modelserver.chat import (
    ChatRequest,
    ChatResult,
    RequestError,
    complete,
    parse_messages,
    sampling_from_options,
    stream,
)
from modelserver.prompting import JSON_OBJECT, bounded

openai = Blueprint("openai", __name__)
_OPTIONS = ("temperature", "top_p", "seed", "stop", "presence_penalty", "frequency_penalty")


def response_schema(response_format: Any) -> dict[str, Any] | None:
    """OpenAI ``response_format`` → the JSON Schema the answer must follow."""
    if not response_format:
        return None
    if not isinstance(response_format, dict):
        raise RequestError("response_format must be an object")
    kind = response_format.get("type")
    if kind == "text":
        return None
    if kind == "json_object":
        return JSON_OBJECT
    if kind == "json_schema":
        schema = (response_format.get("json_schema") or {}).get("schema")
        if not isinstance(schema, dict):
            raise RequestError("response_format.json_schema.schema must be an object")
        return bounded(schema)
    raise RequestError(f"unsupported response_format type {kind!r}")


def _tool_calls(result: ChatResult, streaming: bool) -> list[dict[str, Any]]:
    calls = []
    for index, (name, args) in enumerate(result.tool_calls):
        call = {
            "id": f"call_{uuid.uuid4().hex[:12]}",
            "type": "function",
            "function": {"name": name, "arguments": json.dumps(args)},
        }
        calls.append({"index": index, **call} if streaming else call)
    return calls


def _usage(result: ChatResult) -> dict[str, int]:
    return {
        "prompt_tokens": result.prompt_tokens,
        "completion_tokens": result.completion_tokens,
        "total_tokens": result.prompt_tokens + result.completion_tokens,
    }


def _finish(result: ChatResult) -> str:
    return "tool_calls" if result.tool_calls else result.done_reason


@openai.get("/v1/models")
def models() -> Response:
    return jsonify(object="list", data=[_model_object()])


@openai.get("/v1/models/<path:name>")
def model(name: str) -> Response:
    resolve(name)
    return jsonify(_model_object())


def _model_object() -> dict[str, Any]:
    model_card = card()
    created = int(time.mktime(time.strptime(model_card.modified_at[:19], "%Y-%m-%dT%H:%M:%S")))
    return {"id": model_card.name, "object": "model", "created": created, "owned_by": "library"}


@openai.post("/v1/chat/completions")
def chat_completions() -> Response:
    data = body()
    model_name = resolve(data.get("model")).name
    messages = parse_messages(data.get("messages"))
    if not messages:
        raise RequestError("messages must not be empty")
    tools = data.get("tools") or []
    if data.get("tool_choice") == "none":
        tools = []
    options = {k: data[k] for k in _OPTIONS if data.get(k) is not None}
    limit = data.get("max_completion_tokens", data.get("max_tokens"))
    turn = ChatRequest(
        messages,
        tools,
        response_schema(data.get("response_format")),
        sampling_from_options(options, max_tokens=limit),
        max_tool_rounds=current_app.config["MAX_TOOL_ROUNDS"],
    )
    engine = current_app.extensions["engine"]
    head = {
        "id": f"chatcmpl-{uuid.uuid4().hex[:24]}",
        "created": int(time.time()),
        "model": model_name,
        "system_fingerprint": "fp_binks",
    }
    if not data.get("stream"):
        result = complete(engine, turn)
        message: dict[str, Any] = {"role": "assistant", "content": result.content or None}
        if result.tool_calls:
            message["tool_calls"] = _tool_calls(result, streaming=False)
        choice = {"index": 0, "message": message, "finish_reason": _finish(result)}
        return jsonify(
            {**head, "object": "chat.completion", "choices": [choice], "usage": _usage(result)}
        )
    include_usage = bool((data.get("stream_options") or {}).get("include_usage"))

    def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        choice = {"index": 0, "delta": delta, "finish_reason": finish}
        return {**head, "object": "chat.completion.chunk", "choices": [choice]}

    def events() -> Iterator[str]:
        yield _sse(chunk({"role": "assistant", "content": ""}))
        for item in stream(engine, turn):
            if isinstance(item, str):
                yield _sse(chunk({"content": item}))
                continue
            if item.tool_calls:
                yield _sse(chunk({"tool_calls": _tool_calls(item, streaming=True)}))
            elif turn.tools:
                yield _sse(chunk({"content": item.content}))
            yield _sse(chunk({}, _finish(item)))
            if include_usage:
                yield _sse(
                    {
                        **head,
                        "object": "chat.completion.chunk",
                        "choices": [],
                        "usage": _usage(item),
                    }
                )
        yield "data: [DONE]\n\n"

    return Response(events(), mimetype="text/event-stream")


def _sse(payload: dict[str, Any]) -> str:
    return f"data: {json.dumps(payload)}\n\n"

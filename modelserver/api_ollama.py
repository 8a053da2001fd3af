"""Ollama's native API (``/api/*``): the shapes the official clients expect."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request

from modelserver.chat import (
    ChatRequest,
    ChatResult,
    RequestError,
    complete,
    parse_messages,
    sampling_from_options,
    stream,
)
from modelserver.prompting import GEMMA_TEMPLATE, format_schema
from modelserver.weights import ModelCard

VERSION = "0.1.0"
ollama = Blueprint("ollama", __name__)


class ModelNotFound(LookupError):
    def __init__(self, name: str) -> None:
        super().__init__(f"model '{name}' not found")


def now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


def card() -> ModelCard:
    return current_app.extensions["engine"].card


def body() -> dict[str, Any]:
    """The JSON object body, or a 400 with the reason."""
    try:
        data = json.loads(request.get_data() or b"{}")
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise RequestError(f"invalid JSON body: {error}") from None
    if not isinstance(data, dict):
        raise RequestError("the body must be a JSON object")
    return data


def resolve(name: Any) -> ModelCard:
    if not name or not isinstance(name, str):
        raise RequestError("model is required")
    if not card().answers_to(name):
        raise ModelNotFound(name)
    return card()


def _stats(result: ChatResult) -> dict[str, Any]:
    return {
        "done": True,
        "done_reason": result.done_reason,
        "total_duration": result.total_ns,
        "load_duration": 0,
        "prompt_eval_count": result.prompt_tokens,
        "prompt_eval_duration": result.prompt_ns,
        "eval_count": result.completion_tokens,
        "eval_duration": result.completion_ns,
    }


def _message(content: str, calls: list[tuple[str, dict]] = ()) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": content}
    if calls:
        message["tool_calls"] = [
            {"function": {"index": i, "name": name, "arguments": args}}
            for i, (name, args) in enumerate(calls)
        ]
    return message


def _ndjson(lines: Iterator[dict[str, Any]]) -> Response:
    return Response((json.dumps(line) + "\n" for line in lines), mimetype="application/x-ndjson")


def _lifecycle(model: str, keep_alive: Any, key: str, empty: Any) -> dict[str, Any]:
    """Ollama's answer to an empty request: load the model, or unload with keep_alive 0."""
    reason = "unload" if keep_alive in (0, "0", "0s", "0m") else "load"
    return {"model": model, "created_at": now(), key: empty, "done": True, "done_reason": reason}


@ollama.get("/api/version")
def version() -> Response:
    return jsonify(version=VERSION)


def _entry(model: ModelCard, **extra: Any) -> dict[str, Any]:
    """One model as /api/tags and /api/ps list it."""
    return {
        "name": model.name,
        "model": model.name,
        "size": model.size,
        "digest": model.digest,
        "details": model.details(),
        **extra,
    }


@ollama.get("/api/tags")
def tags() -> Response:
    return jsonify(models=[_entry(card(), modified_at=card().modified_at)])


@ollama.get("/api/ps")
def running() -> Response:
    resident = {
        "expires_at": "2318-08-26T00:00:00Z",  # resident for the server's life
        "size_vram": 0,
        "context_length": current_app.config["CONTEXT_PER_SLOT"],
    }
    return jsonify(models=[_entry(card(), **resident)])


@ollama.post("/api/show")
def show() -> Response:
    data = body()
    model = resolve(data.get("model") or data.get("name"))
    return jsonify(
        license="Gemma Terms of Use",
        modelfile=f"FROM {model.path}\n",
        parameters="",
        template=GEMMA_TEMPLATE,
        details=model.details(),
        model_info={
            "general.architecture": model.family,
            "general.file_type": 15,
            f"{model.family}.context_length": model.context_length,
        },
        capabilities=["completion", "tools"],
        modified_at=model.modified_at,
    )


@ollama.post("/api/chat")
def chat() -> Response:
    data = body()
    model = resolve(data.get("model")).name
    messages = parse_messages(data.get("messages", []))
    if not messages:
        return jsonify(_lifecycle(model, data.get("keep_alive"), "message", _message("")))
    tools = data.get("tools") or []
    if not isinstance(tools, list):
        raise RequestError("tools must be a list")
    try:
        answer = format_schema(data.get("format"))
    except ValueError as problem:
        raise RequestError(str(problem)) from None
    turn = ChatRequest(
        messages,
        tools,
        answer,
        sampling_from_options(data.get("options")),
        max_tool_rounds=current_app.config["MAX_TOOL_ROUNDS"],
    )
    engine = current_app.extensions["engine"]
    base = {"model": model}
    if data.get("stream", True) is False:
        result = complete(engine, turn)
        return jsonify(
            {
                **base,
                "created_at": now(),
                "message": _message(result.content, result.tool_calls),
                **_stats(result),
            }
        )

    def lines() -> Iterator[dict[str, Any]]:
        for item in stream(engine, turn):
            if isinstance(item, str):
                yield {**base, "created_at": now(), "message": _message(item), "done": False}
            else:
                if item.tool_calls:
                    message = _message("", item.tool_calls)
                    yield {**base, "created_at": now(), "message": message, "done": False}
                yield {**base, "created_at": now(), "message": _message(""), **_stats(item)}

    return _ndjson(lines())


@ollama.post("/api/generate")
def generate() -> Response:
    data = body()
    model = resolve(data.get("model")).name
    prompt = data.get("prompt") or ""
    if not isinstance(prompt, str):
        raise RequestError("prompt must be a string")
    if data.get("raw"):
        raise RequestError("raw prompts are not supported by the embedded model server")
    if data.get("images"):
        raise RequestError("this model does not support images")
    if not prompt:
        return jsonify(_lifecycle(model, data.get("keep_alive"), "response", ""))
    messages = [{"role": "user", "content": prompt}]
    if data.get("system"):
        messages.insert(0, {"role": "system", "content": str(data["system"])})
    try:
        answer = format_schema(data.get("format"))
    except ValueError as problem:
        raise RequestError(str(problem)) from None
    turn = ChatRequest(messages, [], answer, sampling_from_options(data.get("options")))
    engine = current_app.extensions["engine"]
    base = {"model": model}
    if data.get("stream", True) is False:
        result = complete(engine, turn)
        return jsonify({**base, "created_at": now(), "response": result.content, **_stats(result)})

    def lines() -> Iterator[dict[str, Any]]:
        for item in stream(engine, turn):
            if isinstance(item, str):
                yield {**base, "created_at": now(), "response": item, "done": False}
            else:
                yield {**base, "created_at": now(), "response": "", **_stats(item)}

    return _ndjson(lines())

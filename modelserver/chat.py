"""One chat turn, API-neutral: what Ollama's /api/chat and OpenAI's /v1/chat/completions
both reduce to, and what the engine returns for it."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from modelserver.engine import Engine
from modelserver.prompting import (
    JSON_OBJECT,
    JSON_OBJECT_GRAMMAR,
    read_tool_answer,
    render_history,
    tool_answer_schema,
    tool_instructions,
    tool_specs,
)

DEFAULT_NUM_PREDICT = 1024
#: Ollama option → llama.cpp request field (same meaning).
_SAMPLING = {
    "temperature": "temperature",
    "top_k": "top_k",
    "top_p": "top_p",
    "min_p": "min_p",
    "typical_p": "typical_p",
    "seed": "seed",
    "stop": "stop",
    "repeat_penalty": "repeat_penalty",
    "repeat_last_n": "repeat_last_n",
    "presence_penalty": "presence_penalty",
    "frequency_penalty": "frequency_penalty",
}


#: What Ollama samples with when a request leaves an option out (its ``DefaultOptions``);
#: llama.cpp's own defaults differ (no repeat penalty at all), and a function must meet
#: the same model here as on a real Ollama. Temperature too: 0.8 when unset.
OLLAMA_DEFAULTS = {
    "temperature": 0.8,
    "top_k": 40,
    "top_p": 0.9,
    "repeat_penalty": 1.1,
    "repeat_last_n": 64,
}


class RequestError(ValueError):
    """A request the API answers with 400."""


DEFAULT_MAX_TOOL_ROUNDS = 4


@dataclass(frozen=True)
class ChatRequest:
    messages: list[Mapping[str, Any]]
    tools: list[dict[str, Any]] = field(default_factory=list)
    answer_schema: dict[str, Any] | None = None
    sampling: dict[str, Any] = field(default_factory=dict)
    #: A small base model never decides on its own to stop calling tools (and
    #: agno's tool_call_limit only refuses the calls, it keeps asking): after this
    #: many tool results since the last user turn, only a final response is allowed.
    max_tool_rounds: int = DEFAULT_MAX_TOOL_ROUNDS


def tool_rounds(messages: list[Mapping[str, Any]]) -> int:
    """Tool results since the last user message."""
    rounds = 0
    for message in reversed(messages):
        if message.get("role") == "user":
            break
        rounds += message.get("role") == "tool"
    return rounds


@dataclass(frozen=True)
class ChatResult:
    content: str
    tool_calls: list[tuple[str, dict[str, Any]]]
    done_reason: str
    prompt_tokens: int
    completion_tokens: int
    prompt_ns: int
    completion_ns: int
    total_ns: int


def sampling_from_options(options: Any, max_tokens: Any = None) -> dict[str, Any]:
    """Ollama ``options`` (and OpenAI's ``max_tokens``) → llama.cpp sampling fields, with
    Ollama's defaults for what is left out."""
    if options is None:
        options = {}
    if not isinstance(options, Mapping):
        raise RequestError("options must be a JSON object")
    given = {_SAMPLING[k]: v for k, v in options.items() if k in _SAMPLING and v is not None}
    sampling = {**OLLAMA_DEFAULTS, **given}
    limit = options.get("num_predict", max_tokens)
    if limit is not None and not isinstance(limit, int):
        raise RequestError("num_predict / max_tokens must be an integer")
    sampling["max_tokens"] = limit if limit and limit > 0 else DEFAULT_NUM_PREDICT
    return sampling


def parse_messages(messages: Any) -> list[Mapping[str, Any]]:
    if not isinstance(messages, list) or not all(isinstance(m, Mapping) for m in messages):
        raise RequestError("messages must be a list of objects")
    for message in messages:
        if message.get("images"):
            raise RequestError("this model does not support images")
    return messages


def engine_request(request: ChatRequest) -> dict[str, Any]:
    try:
        specs = tool_specs(request.tools)
        instructions = tool_instructions(specs) if specs else None
        messages = render_history(request.messages, instructions)
    except ValueError as problem:
        raise RequestError(str(problem)) from None
    callable_tools = specs
    if specs and tool_rounds(request.messages) >= request.max_tool_rounds:
        # The grammar alone ends the tool calls: an instruction added to the history
        # ("no more tool calls...") was copied into answers by a small model.
        callable_tools = []
    schema = (
        tool_answer_schema(callable_tools, request.answer_schema)
        if specs
        else request.answer_schema
    )
    body: dict[str, Any] = {"messages": messages, "cache_prompt": True, **request.sampling}
    if schema == JSON_OBJECT:  # free-form JSON: a grammar bounds it, a schema cannot
        body["grammar"] = JSON_OBJECT_GRAMMAR
    elif schema is not None:
        body["response_format"] = {"type": "json_schema", "json_schema": {"schema": schema}}
    return body


def complete(engine: Engine, request: ChatRequest) -> ChatResult:
    started = time.monotonic_ns()
    result = engine.complete(engine_request(request))
    choice = result["choices"][0]
    return _log(
        _result(request, choice["message"].get("content") or "", choice, result, started), request
    )


def stream(engine: Engine, request: ChatRequest) -> Iterator[str | ChatResult]:
    """Text deltas as they are decoded, then one :class:`ChatResult`.

    In tool mode nothing is streamed until the answer is complete: a tool call
    is only known once its JSON closes.
    """
    started = time.monotonic_ns()
    text: list[str] = []
    last: dict[str, Any] = {}
    choice: dict[str, Any] = {}
    for chunk in engine.stream(engine_request(request)):
        last = chunk
        for choice in chunk.get("choices") or []:
            delta = (choice.get("delta") or {}).get("content") or ""
            if delta:
                text.append(delta)
                if not request.tools:
                    yield delta
    yield _log(_result(request, "".join(text), choice, last, started, len(text)), request)


def _log(result: ChatResult, request: ChatRequest) -> ChatResult:
    """One JSON line per model turn on stderr: what was asked, what it cost."""
    line = {
        "msg": "turn",
        "messages": len(request.messages),
        "tools": len(request.tools),
        "structured": request.answer_schema is not None,
        "prompt_tokens": result.prompt_tokens,
        "completion_tokens": result.completion_tokens,
        "tool_calls": [name for name, _ in result.tool_calls],
        "done_reason": result.done_reason,
        "ms": result.total_ns // 1_000_000,
    }
    print(json.dumps(line), file=sys.stderr, flush=True)
    return result


def _result(
    request: ChatRequest,
    text: str,
    choice: Mapping[str, Any],
    raw: Mapping[str, Any],
    started: int,
    streamed_tokens: int = 0,
) -> ChatResult:
    content, calls = text, []
    if request.tools:
        content, calls = read_tool_answer(text, structured=request.answer_schema is not None)
    timings = raw.get("timings") or {}
    usage = raw.get("usage") or {}
    reason = choice.get("finish_reason") or "stop"
    return ChatResult(
        content=content,
        tool_calls=calls,
        done_reason="length" if reason == "length" else "stop",
        prompt_tokens=int(timings.get("prompt_n") or usage.get("prompt_tokens") or 0),
        completion_tokens=int(
            timings.get("predicted_n") or usage.get("completion_tokens") or streamed_tokens
        ),
        prompt_ns=int(float(timings.get("prompt_ms") or 0) * 1e6),
        completion_ns=int(float(timings.get("predicted_ms") or 0) * 1e6),
        total_ns=time.monotonic_ns() - started,
    )

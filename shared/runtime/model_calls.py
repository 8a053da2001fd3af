"""Every call to the model server, seen on the wire: duration, tokens, tool calls.

agno reaches Ollama through the ``ollama`` client, crewai through ``openai``; both are
built on ``httpx``. Wrapping httpx's transport once sees both variants' calls the same
way, without a line in either runner: the answer is read as the framework would read
it (``response.read()`` keeps it for the caller) and its counts are Ollama's
(``prompt_eval_count``, ``eval_count``, ``message.tool_calls``) or OpenAI's (``usage``,
``choices[].message.tool_calls``). A streamed answer is passed on untouched, timed to
its headers. The request carries the handler span's ``traceparent``, as any traced HTTP
client's would.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from shared.runtime.telemetry import CURRENT, ModelCall
from shared.telemetry.spans import now_ns
from shared.telemetry.tracecontext import TRACEPARENT, child_of

#: The model APIs' chat paths (Ollama's own and its OpenAI-compatible one).
MODEL_PATHS = ("/api/chat", "/api/generate", "/chat/completions")

_installed: list[Callable[[ModelCall], None]] = []


def install(record: Callable[[ModelCall], None]) -> None:
    """Send every model call this process makes through httpx to ``record`` (idempotent:
    the latest ``record`` wins)."""
    import httpx

    _installed[:] = [record]
    transport = httpx.HTTPTransport
    if getattr(transport.handle_request, "_binks", False):
        return
    original = transport.handle_request

    def handle_request(self: Any, request: httpx.Request) -> httpx.Response:
        if not request.url.path.endswith(MODEL_PATHS) or not _installed:
            return original(self, request)
        parent = CURRENT.get()
        if parent is not None:
            request.headers[TRACEPARENT] = child_of(parent).traceparent
        started = now_ns()
        try:
            response = original(self, request)
        except Exception as problem:
            _record(ModelCall(request.url.path, 0, started, now_ns(), error=type(problem).__name__))
            raise
        if _streamed(response):
            _record(ModelCall(request.url.path, response.status_code, started, now_ns()))
            return response
        response.read()
        counts = _counts(response.content) if response.status_code < 400 else {}
        error = None if response.status_code < 400 else f"HTTP {response.status_code}"
        _record(
            ModelCall(
                request.url.path, response.status_code, started, now_ns(), **counts, error=error
            )
        )
        return response

    handle_request._binks = True  # type: ignore[attr-defined]
    transport.handle_request = handle_request


def _record(call: ModelCall) -> None:
    for record in _installed:
        record(call)


def _streamed(response: Any) -> bool:
    """Ollama streams NDJSON, the OpenAI API server-sent events; an answer read whole is JSON."""
    kind = response.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    return kind in ("application/x-ndjson", "text/event-stream")


def _counts(body: bytes) -> dict[str, int]:
    """Tokens in and out and tool calls from an Ollama or OpenAI chat answer ({} when
    the body says nothing of them)."""
    try:
        answer = json.loads(body)
    except ValueError:
        return {}
    if not isinstance(answer, dict):
        return {}
    counts: dict[str, int] = {}
    usage = answer.get("usage") if isinstance(answer.get("usage"), dict) else {}
    for key, ollama, openai in (
        ("tokens_in", "prompt_eval_count", "prompt_tokens"),
        ("tokens_out", "eval_count", "completion_tokens"),
    ):
        value = answer.get(ollama, usage.get(openai))
        if isinstance(value, int):
            counts[key] = value
    messages = [answer.get("message")] + [
        c.get("message") for c in answer.get("choices") or [] if isinstance(c, dict)
    ]
    counts["tool_calls"] = sum(
        len(m.get("tool_calls") or []) for m in messages if isinstance(m, dict)
    )
    return counts

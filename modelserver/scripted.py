"""A scripted Ollama-API server: real HTTP, canned answers, no model.

It speaks what our two frameworks call — Ollama's native ``/api/chat`` (agno,
through the ``ollama`` client) and the OpenAI-compatible
``/v1/chat/completions`` (crewai) — including tool calls, in streaming and
non-streaming form. A *script* decides each answer from the conversation so
far, which makes whole agent runs deterministic. Every request is recorded.

One server can play a whole team (:func:`team_script`): each function gets its own
base path, ``OLLAMA_HOST=<url>/<service>``, which both frameworks keep in front of
every call (``/code-reviewer-agno/api/chat``); that path, not the prompt, picks the
role's script. A platform gives every instance its own with ``<url>/$(K_SERVICE)``
(:attr:`ScriptedOllama.url_per_service`).
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote

from events import VARIANTS
from shared.defaults import DEFAULT_MODEL

VERSION = "0.0.0-scripted"


@dataclass(frozen=True)
class Turn:
    """One model answer: text, or tool calls as (name, arguments) pairs."""

    content: str = ""
    tool_calls: tuple[tuple[str, dict[str, Any]], ...] = ()


Script = Callable[[list[dict[str, Any]], list[str]], Turn]


def review_script(final_answer: dict[str, Any]) -> Script:
    """Act like a diligent reviewer: list files, read the first Python file, answer.

    The final answer is ``final_answer`` as JSON, whatever the files say.
    """

    def script(messages: list[dict[str, Any]], tools: list[str]) -> Turn:
        results = [m for m in messages if m.get("role") == "tool"]
        if tools and not results:
            return Turn(tool_calls=(("list_files", {"directory": "."}),))
        if tools and len(results) == 1:
            listing = str(results[0].get("content") or "")
            first = next((line for line in listing.splitlines() if line.endswith(".py")), None)
            if first:
                return Turn(tool_calls=(("read_file", {"path": first}),))
        return Turn(content=json.dumps(final_answer))

    return script


def tools_script(calls: list[tuple[str, dict[str, Any]]], final_answer: dict[str, Any]) -> Script:
    """Call ``calls`` in order, one per turn, then answer ``final_answer``."""

    def script(messages: list[dict[str, Any]], tools: list[str]) -> Turn:
        done = sum(1 for m in messages if m.get("role") == "tool")
        if tools and done < len(calls):
            return Turn(tool_calls=(calls[done],))
        return Turn(content=json.dumps(final_answer))

    return script


@dataclass(frozen=True)
class Team:
    """Scripts by caller: the first segment of a request's path names the function that
    calls, as its service (``code-reviewer-agno``) or its role (``code-reviewer``)."""

    scripts: Mapping[str, Script]

    def script_for(self, caller: str | None) -> Script:
        """The caller's script; a call without a caller path gets the only one there is.

        Raises LookupError for a caller the team has no script for (answered 404).
        """
        if caller is None:
            if len(self.scripts) == 1:
                return next(iter(self.scripts.values()))
            raise LookupError(
                f"a team of {len(self.scripts)} needs the caller in the path: "
                "OLLAMA_HOST=<url>/<service>, or <url>/$(K_SERVICE) for a platform"
            )
        role, _, variant = caller.rpartition("-")
        for key in (caller, role if variant in VARIANTS else None):
            if key in self.scripts:
                return self.scripts[key]
        raise LookupError(f"no script for {caller!r}; the team has {', '.join(self.scripts)}")


def team_script(answers: Mapping[str, dict[str, Any] | Script]) -> Team:
    """One script per role, keyed by role (``code-reviewer``) or service name. A dict is
    a final answer given after :func:`review_script`'s tool calls."""
    return Team(
        {
            caller: answer if callable(answer) else review_script(answer)
            for caller, answer in answers.items()
        }
    )


@dataclass
class ScriptedOllama:
    """A real HTTP server on 127.0.0.1 that answers with ``script`` (or the caller's
    script of a :class:`Team`)."""

    script: Script | Team
    model: str = DEFAULT_MODEL
    latency_s: float = 0.0
    requests: list[dict[str, Any]] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self._server is not None, "start() first"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def url_for(self, caller: str) -> str:
        """The ``OLLAMA_HOST`` that gives ``caller`` (a service or role) its own script."""
        return f"{self.url}/{caller}"

    @property
    def url_per_service(self) -> str:
        """The ``OLLAMA_HOST`` for a platform: every instance its own path, by service
        (``$(K_SERVICE)``, which the platform expands per instance)."""
        return self.url_for("$(K_SERVICE)")

    def start(self, port: int = 0) -> ScriptedOllama:
        """Serve in a daemon thread on ``port`` (0: a free one)."""
        self._server = ThreadingHTTPServer(("127.0.0.1", port), _handler_for(self))
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> ScriptedOllama:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def calls(self, endpoint: str, caller: str | None = None) -> list[dict[str, Any]]:
        """The recorded request bodies sent to ``endpoint`` (``/api/chat``), by anyone or
        by ``caller`` (the first path segment)."""
        return [
            r["body"]
            for r in self.requests
            if r["endpoint"] == endpoint and caller in (None, r["caller"])
        ]

    def answer(self, body: dict[str, Any], caller: str | None = None) -> Turn:
        """The next turn for one chat request from ``caller``."""
        script = self.script.script_for(caller) if isinstance(self.script, Team) else self.script
        tools = [t.get("function", {}).get("name", "") for t in body.get("tools") or []]
        if self.latency_s:
            time.sleep(self.latency_s)
        return script(list(body.get("messages") or []), tools)


def route(path: str) -> tuple[str | None, str]:
    """``/code-reviewer-agno/api/chat`` → (``code-reviewer-agno``, ``/api/chat``);
    ``/api/chat`` → (None, ``/api/chat``)."""
    path = path.split("?", 1)[0]
    first, _, rest = path.removeprefix("/").partition("/")
    if first in ("", "api", "v1"):
        return None, path
    return unquote(first), "/" + rest


def _now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


def _ollama_chat(turn: Turn, server: ScriptedOllama, body: dict[str, Any]) -> tuple[dict, dict]:
    """(message chunk, final done chunk) in Ollama's /api/chat shape."""
    message: dict[str, Any] = {"role": "assistant", "content": turn.content}
    if turn.tool_calls:
        message["tool_calls"] = [
            {"function": {"name": name, "arguments": args}} for name, args in turn.tool_calls
        ]
    base = {"model": body.get("model", server.model), "created_at": _now()}
    stats = {
        "done": True,
        "done_reason": "stop",
        "total_duration": 1_000_000,
        "load_duration": 0,
        "prompt_eval_count": 1,
        "prompt_eval_duration": 500_000,
        "eval_count": max(1, len(turn.content) // 4),
        "eval_duration": 500_000,
    }
    return {**base, "message": message, "done": False}, {**base, "message": message, **stats}


def _openai_chat(turn: Turn, server: ScriptedOllama, body: dict[str, Any]) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": turn.content or None}
    if turn.tool_calls:
        message["tool_calls"] = [
            {
                "id": f"call_{uuid.uuid4().hex[:12]}",
                "type": "function",
                "function": {"name": name, "arguments": json.dumps(args)},
            }
            for name, args in turn.tool_calls
        ]
    completion = max(1, len(turn.content) // 4)
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex[:12]}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": body.get("model", server.model),
        "system_fingerprint": "fp_ollama",
        "choices": [
            {
                "index": 0,
                "message": message,
                "finish_reason": "tool_calls" if turn.tool_calls else "stop",
            }
        ],
        "usage": {
            "prompt_tokens": 1,
            "completion_tokens": completion,
            "total_tokens": 1 + completion,
        },
    }


def _openai_chunks(completion: dict[str, Any]) -> list[dict[str, Any]]:
    choice = completion["choices"][0]
    delta = dict(choice["message"])
    for index, call in enumerate(delta.get("tool_calls") or []):
        call["index"] = index
    head = {k: completion[k] for k in ("id", "created", "model", "system_fingerprint")}
    head["object"] = "chat.completion.chunk"
    return [
        {**head, "choices": [{"index": 0, "delta": delta, "finish_reason": None}]},
        {**head, "choices": [{"index": 0, "delta": {}, "finish_reason": choice["finish_reason"]}]},
    ]


def _handler_for(server: ScriptedOllama) -> type[BaseHTTPRequestHandler]:
    """The request handler class bound to ``server``: ``http.server`` makes one handler per
    request from a class, so the class closes over the server (its methods are short)."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # quiet
            pass

        def _send(self, status: int, payload: Any, content_type: str = "application/json") -> None:
            data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            _, endpoint = route(self.path)
            model = {"name": server.model, "model": server.model, "size": 0, "digest": "scripted"}
            routes = {
                "/": (b"Ollama is running", "text/plain"),
                "/api/version": ({"version": VERSION}, "application/json"),
                "/api/tags": ({"models": [model]}, "application/json"),
                "/api/ps": ({"models": []}, "application/json"),
                "/v1/models": (
                    {"object": "list", "data": [{"id": server.model, "object": "model"}]},
                    "application/json",
                ),
            }
            if endpoint in routes:
                self._send(200, *routes[endpoint])
            else:
                self._send(404, {"error": "not found"})

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            try:
                body = json.loads(self.rfile.read(length) or b"{}")
            except json.JSONDecodeError as error:
                self._send(400, {"error": f"invalid JSON: {error}"})
                return
            caller, endpoint = route(self.path)
            server.requests.append(
                {
                    "path": self.path,
                    "caller": caller,
                    "endpoint": endpoint,
                    "body": body,
                    "traceparent": self.headers.get("traceparent"),
                }
            )
            if endpoint == "/api/show":
                self._send(200, {"modelfile": "", "parameters": "", "template": "", "details": {}})
                return
            if endpoint not in ("/api/chat", "/v1/chat/completions"):
                self._send(404, {"error": "not found"})
                return
            try:
                turn = server.answer(body, caller)
            except LookupError as problem:  # a caller the team has no script for
                self._send(404, {"error": str(problem)})
                return
            if endpoint == "/api/chat":
                self._chat(turn, body)
            else:
                self._completion(turn, body)

        def _chat(self, turn: Turn, body: dict[str, Any]) -> None:
            chunk, done = _ollama_chat(turn, server, body)
            if not body.get("stream", True):
                self._send(200, done)
                return
            last = {**done, "message": {"role": "assistant", "content": ""}}
            lines = json.dumps(chunk) + "\n" + json.dumps(last) + "\n"
            self._send(200, lines.encode(), "application/x-ndjson")

        def _completion(self, turn: Turn, body: dict[str, Any]) -> None:
            completion = _openai_chat(turn, server, body)
            if not body.get("stream"):
                self._send(200, completion)
                return
            events = "".join(f"data: {json.dumps(c)}\n\n" for c in _openai_chunks(completion))
            self._send(200, (events + "data: [DONE]\n\n").encode(), "text/event-stream")

    return Handler

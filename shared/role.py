"""The framework-neutral shape of an agent role, and the one way to run it.

A :class:`Role` is defined once (instructions, tools, event types, how a request
becomes a prompt and how the final answer becomes a reply). A :class:`Runner` is
the thin framework adapter (agno or crewai) that turns the role into that
framework's agent and runs one :class:`AgentTask`. :func:`run_role` is the only
place where the two meet, so both variants do exactly the same work around the
framework call.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol


@dataclass(frozen=True)
class ModelSettings:
    """Which model a role talks to, through the Ollama API, and how."""

    name: str
    host: str
    temperature: float = 0.0
    max_tokens: int = 1024
    seed: int = 42
    timeout_s: float = 120.0
    #: Send the role's answer schema as structured output (Ollama ``format``, OpenAI
    #: ``response_format``) with every model call. Only for servers that combine it
    #: with tool calls, like the embedded one; a stock Ollama then never calls tools.
    structured_answer: bool = False


@dataclass(frozen=True)
class Tool:
    """A tool the agent may call: a typed, documented function returning text.

    Both frameworks derive the tool's JSON schema from the function's signature
    and docstring, so one function serves both. Tools never raise to the model:
    a refused or failed call returns a message starting with ``error:``.
    """

    name: str
    function: Callable[..., str]

    @property
    def description(self) -> str:
        return (self.function.__doc__ or "").strip().split("\n\n", 1)[0]


@dataclass(frozen=True)
class AgentTask:
    """One agent run: the user prompt and the tools bound to this request."""

    prompt: str
    tools: tuple[Tool, ...]


@dataclass(frozen=True)
class Reply:
    """The event a role answers with: its type, its data, whether it reports a failure,
    and further events the role publishes (to ``K_SINK``) besides this reply.

    ``task`` is the task the event belongs to when it is not the request's own (a
    clock tick that closes other tasks); None: the request's task."""

    type: str
    data: dict[str, Any]
    failed: bool = False
    emits: tuple[Reply, ...] = ()
    task: str | None = None


@dataclass(frozen=True)
class Context:
    """What a role may know about where it runs, and which event it is handling."""

    variant: str
    model: str
    workspace: Path
    state_dir: Path = Path(tempfile.gettempdir(), "binks-state")
    event_type: str = ""
    task: str = ""


#: What ``prepare`` gives back: an agent run, an answer without one, or nothing (yet).
Prepared = AgentTask | Reply | None


@dataclass(frozen=True)
class Role:
    """One agent role, defined once for every framework.

    ``prepare`` turns validated request data into an :class:`AgentTask` (raise
    :class:`~shared.runtime.errors.BadRequest` for a request that cannot run), or
    answers without the agent (a :class:`Reply`, or None: nothing to say yet);
    ``finish`` turns the agent's final text into the :class:`Reply`.
    ``also_accepts`` lists further event types the role takes besides ``request_type``.
    """

    name: str
    title: str
    goal: str
    instructions: str
    request_type: str
    reply_types: tuple[str, ...]
    prepare: Callable[[Mapping[str, Any], Context], Prepared]
    finish: Callable[[Mapping[str, Any], str, Context, int], Reply]
    answer_schema: Mapping[str, Any] | None = None
    max_tool_calls: int = 8
    also_accepts: tuple[str, ...] = ()

    @property
    def accepts(self) -> tuple[str, ...]:
        return (self.request_type, *self.also_accepts)


class Runner(Protocol):
    """A framework adapter: builds the framework's agent for a role and runs it."""

    variant: str

    def run(self, task: AgentTask) -> str:
        """Run one task to its final answer text.

        Raises :class:`~shared.runtime.errors.ModelUnavailable` when the model
        could not be reached or failed.
        """
        ...


def failure(event_type: str, common: Mapping[str, Any], error: str, reason: str) -> Reply:
    """A ``...failed`` reply: ``common`` fields plus a stable error code and the reason."""
    data = {**common, "error": error, "reason": reason[:2000]}
    return Reply(event_type, data, failed=True)


def answer_format(role: Role, model: ModelSettings) -> dict[str, Any] | None:
    """The JSON Schema both adapters send as structured output, or None."""
    if model.structured_answer and role.answer_schema:
        return dict(role.answer_schema)
    return None


def run_role(role: Role, runner: Runner, data: Mapping[str, Any], context: Context) -> Reply | None:
    """Prepare, run and finish one request; the same path for every variant."""
    task = role.prepare(data, context)
    if task is None or isinstance(task, Reply):
        return task
    started = time.monotonic()
    answer = runner.run(task)
    elapsed_ms = round((time.monotonic() - started) * 1000)
    return role.finish(data, answer, context, elapsed_ms)

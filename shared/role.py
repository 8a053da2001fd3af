"""The framework-neutral shape of an agent role, and the one way to run one of its steps.

A :class:`Role` is defined once: a table of handlers by event type. Each handler is an
:class:`AgentStep` (ask the model; the runtime reads and checks the answer; the step
finishes with the checked answer) or a :class:`DirectStep` (no model). ``configure``
runs once, when the app is created, and returns what the handlers need; the runtime
hands it to every handler. A :class:`Runner` (agno or crewai) runs one
:class:`AgentTask`; :func:`run_step` is the only place where the two meet, so both
variants do exactly the same work around the framework call.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any, Generic, Protocol, TypeVar

from shared.answers import UnusableAnswer, read_answer

#: What a role's ``configure`` returns and its handlers receive.
Config = TypeVar("Config")
#: The error code of every reply that reports an unusable model answer.
INVALID_MODEL_ANSWER = "invalid_model_answer"


@dataclass(frozen=True)
class ModelSettings:
    """Which model a runner talks to, through the Ollama API, and how.

    Every field reaches the server in both variants: agno sends Ollama ``options``,
    crewai the OpenAI-compatible fields, which Ollama maps to the same options. The
    penalties are the two that both of Ollama's APIs take; they keep a small model
    from looping on one sentence (Ollama's own ``repeat_penalty`` 1.1 applies besides).
    """

    name: str
    host: str
    temperature: float = 0.0
    max_tokens: int = 1024
    seed: int = 42
    timeout_s: float = 120.0
    frequency_penalty: float = 0.3
    presence_penalty: float = 0.0


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
        """The first paragraph of the function's docstring."""
        return (self.function.__doc__ or "").strip().split("\n\n", 1)[0]


@dataclass(frozen=True)
class Prompt:
    """What an agent step asks the model for one request: the user message, the tools
    bound to this request and, where this request allows fewer answers than the step
    (only the files of this repository, say), the narrower answer schema to send and
    to check; None: the step's."""

    text: str
    tools: tuple[Tool, ...] = ()
    answer_schema: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class AgentTask:
    """One agent run, everything a runner needs: who the agent is, its instructions,
    the prompt, the tools, the answer schema to send as structured output (None: send
    none) and how many tool calls it may make."""

    title: str
    goal: str
    instructions: str
    prompt: str
    tools: tuple[Tool, ...] = ()
    answer_format: Mapping[str, Any] | None = None
    max_tool_calls: int = 8


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
    """What a role may know about where it runs and, while it handles one, the request.

    ``configure`` gets it with the request fields empty. ``elapsed_ms`` is how long the
    model run took; it is set for an agent step's ``finish`` only."""

    variant: str
    model: str
    workspace: Path
    state_dir: Path = Path(tempfile.gettempdir(), "binks-state")
    event_type: str = ""
    task: str = ""
    elapsed_ms: int = 0


def failure(event_type: str, common: Mapping[str, Any], error: str, reason: str) -> Reply:
    """A ``...failed`` reply: ``common`` fields plus a stable error code and the reason."""
    data = {**common, "error": error, "reason": reason[:2000]}
    return Reply(event_type, data, failed=True)


#: The request fields a ``...failed`` event repeats, from the request data and the context.
CommonFields = Callable[[Mapping[str, Any], Context], dict[str, Any]]


@dataclass(frozen=True)
class FailedReply:
    """An unusable answer ends the step with ``type``: the ``common`` fields, error
    ``invalid_model_answer`` and the reason "the model's answer is not a valid <noun>: ..."."""

    type: str
    common: CommonFields
    noun: str

    def reply(self, data: Mapping[str, Any], context: Context, problem: str) -> Reply:
        """The failed reply for ``problem``."""
        reason = f"the model's answer is not a valid {self.noun}: {problem}"
        return failure(self.type, self.common(data, context), INVALID_MODEL_ANSWER, reason)


@dataclass(frozen=True)
class Fallback:
    """An unusable answer does not end the step: ``finish`` gets ``answer(problem)``
    instead (a placeholder the person sees in the reply)."""

    answer: Callable[[str], dict[str, Any]]


@dataclass(frozen=True)
class AgentStep(Generic[Config]):
    """Handle one event type with the model.

    ``ask`` turns the validated request into a :class:`Prompt` (raise
    :class:`~shared.errors.BadRequest` for a request that cannot run), or
    answers without the model: a :class:`Reply`, or None (nothing to say yet). The
    runtime runs the model and reads its answer once against ``answer_schema`` (also
    the schema sent as structured output); ``finish`` gets the checked answer. An
    unusable answer ends in ``on_unusable_answer``.
    """

    instructions: str
    ask: Callable[[Mapping[str, Any], Context, Config], Prompt | Reply | None]
    answer_schema: Mapping[str, Any]
    finish: Callable[[Mapping[str, Any], dict[str, Any], Context, Config], Reply | None]
    on_unusable_answer: FailedReply | Fallback
    max_tool_calls: int = 8


@dataclass(frozen=True)
class DirectStep(Generic[Config]):
    """Handle one event type without the model: validated request in, reply (or None) out."""

    handle: Callable[[Mapping[str, Any], Context, Config], Reply | None]


Step = AgentStep[Config] | DirectStep[Config]


def no_configuration(env: Mapping[str, str], context: Context) -> None:
    """``configure`` of a role whose handlers need nothing beyond their context."""
    return None


@dataclass(frozen=True)
class Role(Generic[Config]):
    """One agent role, defined once for every framework.

    ``handlers`` maps each event type the role takes to its step; ``request_type`` is
    the one a plain-JSON request and ``kn func invoke`` stand for; ``reply_types`` names
    every event type its steps answer or publish. ``configure(env, context)`` runs once
    when the app is created; what it returns goes to every handler.
    """

    name: str
    title: str
    goal: str
    request_type: str
    handlers: Mapping[str, Step[Config]]
    reply_types: tuple[str, ...]
    configure: Callable[[Mapping[str, str], Context], Config] = no_configuration

    def __post_init__(self) -> None:
        if self.request_type not in self.handlers:
            raise ValueError(f"role {self.name!r} has no handler for {self.request_type}")
        object.__setattr__(self, "handlers", MappingProxyType(dict(self.handlers)))

    @property
    def accepts(self) -> tuple[str, ...]:
        """Every event type the role handles, its request type first."""
        others = (t for t in self.handlers if t != self.request_type)
        return (self.request_type, *others)


class Runner(Protocol):
    """A framework adapter: builds the framework's agent for a task and runs it."""

    variant: str

    def run(self, task: AgentTask) -> str:
        """Run one task to its final answer text.

        Raises :class:`~shared.errors.ModelUnavailable` when the model
        could not be reached or failed.
        """
        ...


def run_step(
    role: Role[Config],
    runner: Runner,
    data: Mapping[str, Any],
    context: Context,
    config: Config,
    *,
    structured_answer: bool = False,
) -> Reply | None:
    """Handle one validated request with the step for ``context.event_type``; the same
    path for every variant. The model's answer is read and checked here, once.

    ``structured_answer``: send the step's answer schema as structured output (Ollama
    ``format``, OpenAI ``response_format``) with every model call; only for servers that
    combine it with tool calls, like the embedded one (a stock Ollama then never calls
    tools)."""
    step = role.handlers[context.event_type]
    if isinstance(step, DirectStep):
        return step.handle(data, context, config)
    asked = step.ask(data, context, config)
    if not isinstance(asked, Prompt):
        return asked
    schema = asked.answer_schema or step.answer_schema
    task = AgentTask(
        title=role.title,
        goal=role.goal,
        instructions=step.instructions,
        prompt=asked.text,
        tools=asked.tools,
        answer_format=dict(schema) if structured_answer else None,
        max_tool_calls=step.max_tool_calls,
    )
    started = time.monotonic()
    text = runner.run(task)
    context = replace(context, elapsed_ms=round((time.monotonic() - started) * 1000))
    try:
        # the role's goal is in the prompt too (crewai shows it as the agent's goal)
        answer = read_answer(text, schema, f"{role.goal}\n{step.instructions}")
    except UnusableAnswer as problem:
        if isinstance(step.on_unusable_answer, FailedReply):
            return step.on_unusable_answer.reply(data, context, str(problem))
        answer = step.on_unusable_answer.answer(str(problem))
    return step.finish(data, answer, context, config)

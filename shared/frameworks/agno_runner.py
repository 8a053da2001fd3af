"""The agno adapter. agno's Ollama model calls the official ``ollama`` client,
which speaks Ollama's native ``POST /api/chat`` (tools as ``tools``, answers with
``message.tool_calls``)."""

from __future__ import annotations

import importlib.util
import os
import sys

os.environ.setdefault("AGNO_TELEMETRY", "false")  # no network here; read at import

from shared.errors import ModelUnavailable
from shared.role import AgentTask, ModelSettings, Role


def _ollama_chat_model() -> type:
    """agno's Ollama chat model, without its package's other model.

    ``agno/models/ollama/__init__.py`` also imports ``OllamaResponses``, built on the
    ``openai`` client, which the chat model never calls: that import alone cost 1 s
    of a 2 s cold start (``binks bench``'s import profile). Loading the package
    without running its ``__init__`` leaves the chat model exactly as agno ships it.
    """
    if "agno.models.ollama" not in sys.modules:
        spec = importlib.util.find_spec("agno.models.ollama")
        sys.modules["agno.models.ollama"] = importlib.util.module_from_spec(spec)
    from agno.models.ollama.chat import Ollama

    sys.modules["agno.models.ollama"].Ollama = Ollama  # for agno's own lookups by name
    return Ollama


Ollama = _ollama_chat_model()

from agno.agent import Agent  # noqa: E402  (after the package above is in place)
from agno.run.base import RunStatus  # noqa: E402

#: What agno imports on its first run, not at import (a few dozen of its own modules). A
#: snapshot start imports them before the checkpoint (``shared.runtime.serve.preload``);
#: a cold start does not, so its readiness is measured as before.
FIRST_CALL_IMPORTS = (
    "agno.team",
    "agno.fs",
    "agno.offload",
    "agno.agent._hooks",
    "agno.agent._response",
    "agno.agent._telemetry",
    "agno.utils.callables",
    "agno.utils.json_schema",
)


class AgnoRunner:
    """Runs each :class:`AgentTask` as one agno ``Agent``."""

    variant = "agno"

    def __init__(self, model: ModelSettings) -> None:
        self.model = model

    def _agent(self, task: AgentTask) -> Agent:
        model = Ollama(
            id=self.model.name,
            host=self.model.host,
            timeout=self.model.timeout_s,
            format=dict(task.answer_format) if task.answer_format else None,
            options={
                "temperature": self.model.temperature,
                "num_predict": self.model.max_tokens,
                "seed": self.model.seed,
                "frequency_penalty": self.model.frequency_penalty,
                "presence_penalty": self.model.presence_penalty,
            },
        )
        return Agent(
            name=task.title,
            model=model,
            description=task.goal,
            instructions=task.instructions,
            tools=[tool.function for tool in task.tools],
            tool_call_limit=task.max_tool_calls,
            telemetry=False,
        )

    def run(self, task: AgentTask) -> str:
        agent = self._agent(task)  # our code: a bug here is a 500, not a model outage
        try:
            output = agent.run(task.prompt)
        except Exception as error:  # agno surfaces client errors as many types
            raise ModelUnavailable(f"agno run failed: {error}") from error
        if output.status == RunStatus.error:
            raise ModelUnavailable(f"agno run failed: {output.content}")
        return str(output.content or "")


def build_runner(role: Role, model: ModelSettings) -> AgnoRunner:
    """The runner for ``model``; ``role`` is unused (each task says who the agent is)."""
    return AgnoRunner(model)

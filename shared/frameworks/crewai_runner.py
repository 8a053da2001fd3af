"""The crewai adapter. crewai's own LLM layer routes ``ollama/<model>`` to its
OpenAI-compatible provider, which calls Ollama's ``POST /v1/chat/completions``
through the ``openai`` client (native tool calling)."""

from __future__ import annotations

import logging
import os
import tempfile

# No network here, and crewai writes app data under $XDG_DATA_HOME/<storage dir>:
# keep it in a writable place even on a read-only container filesystem.
os.environ.setdefault("CREWAI_DISABLE_TELEMETRY", "true")
os.environ.setdefault("CREWAI_DISABLE_VERSION_CHECK", "true")
os.environ.setdefault("CREWAI_TRACING_ENABLED", "false")
os.environ.setdefault("OTEL_SDK_DISABLED", "true")
os.environ.setdefault("CREWAI_STORAGE_DIR", "binks")
os.environ.setdefault("XDG_DATA_HOME", os.path.join(tempfile.gettempdir(), "binks-data"))

from crewai import LLM, Agent
from crewai.events.event_listener import event_listener
from crewai.tools import tool as crewai_tool

from shared.errors import ModelUnavailable
from shared.role import AgentTask, ModelSettings, Role

# crewai's console formatter is created verbose for the whole process and draws a panel
# per agent run on stdout whatever Agent(verbose=...) says, and its LLM layer warns on
# every call that Ollama models have no native token counter; a server logs its own lines.
event_listener.formatter.verbose = False
logging.getLogger("crewai.llms.base_llm").setLevel(logging.ERROR)

#: What crewai imports on its first model call, not at import: the ``openai`` client's
#: resources and HTTP stack (~500 modules, 0.5 s of a first request). A snapshot start
#: imports them before the checkpoint (``shared.runtime.serve.preload``); a cold start
#: does not, so its readiness is measured as before.
FIRST_CALL_IMPORTS = (
    "openai.resources",
    "httpcore",
    "h11",
    "crewai.hooks.contexts",
    "crewai.llms.cache",
    "crewai.llms.providers.openai_compatible.completion",
    "crewai.skills.tool",
)


class CrewaiRunner:
    """Runs each :class:`AgentTask` as one crewai ``Agent`` (``Agent.kickoff``, no Crew)."""

    variant = "crewai"

    def __init__(self, model: ModelSettings) -> None:
        self.model = model

    def _agent(self, task: AgentTask) -> Agent:
        llm = LLM(
            model=f"ollama/{self.model.name}",
            base_url=self.model.host,
            timeout=self.model.timeout_s,
            max_retries=0,  # as agno: one try per call, bounded by the timeout; the broker retries
            temperature=self.model.temperature,
            max_tokens=self.model.max_tokens,
            seed=self.model.seed,
            frequency_penalty=self.model.frequency_penalty,
            presence_penalty=self.model.presence_penalty,
            **_structured_output(task),
        )
        return Agent(
            role=task.title,
            goal=task.goal,
            backstory=task.instructions,
            llm=llm,
            tools=[crewai_tool(tool.name)(tool.function) for tool in task.tools],
            max_iter=task.max_tool_calls,
            allow_delegation=False,
            verbose=False,
        )

    def run(self, task: AgentTask) -> str:
        agent = self._agent(task)  # our code: a bug here is a 500, not a model outage
        try:
            output = agent.kickoff(task.prompt)
        except Exception as error:  # crewai surfaces client errors as many types
            raise ModelUnavailable(f"crewai run failed: {error}") from error
        return str(output.raw or "")


def _structured_output(task: AgentTask) -> dict:
    # crewai's own response_format takes only json_object or a pydantic class,
    # so the JSON Schema travels as-is in the request body, as agno's does.
    if not task.answer_format:
        return {}
    response_format = {
        "type": "json_schema",
        "json_schema": {"name": "answer", "schema": dict(task.answer_format)},
    }
    return {"extra_body": {"response_format": response_format}}


def build_runner(role: Role, model: ModelSettings) -> CrewaiRunner:
    """The runner for ``model``; ``role`` is unused (each task says who the agent is)."""
    return CrewaiRunner(model)

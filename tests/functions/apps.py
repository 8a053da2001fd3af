"""In-process function apps for the role tests: the real ``create_app`` of a role on
either variant, with a runner that answers from a script instead of a framework.

The environment goes in through ``create_app(env=...)``, the app's one door; nothing
here touches the process environment.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask.testing import FlaskClient

from shared.role import AgentTask, Role
from shared.runtime import create_app

_EVENT_IDS = itertools.count(1)


class ScriptedRunner:
    """Stands in for a framework: answers each task with the next text of ``answers``
    (an exception is raised instead), and keeps every task it was given."""

    def __init__(self, variant: str, *answers: str | Exception) -> None:
        self.variant = variant
        self.answers = list(answers)
        self.tasks: list[AgentTask] = []

    def run(self, task: AgentTask) -> str:
        self.tasks.append(task)
        if not self.answers:
            raise AssertionError(f"an unexpected model run: {task.prompt!r}")
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer


@dataclass(frozen=True)
class Answered:
    """One HTTP answer of a function: status, lower-cased headers, JSON data (or None)."""

    status: int
    headers: dict[str, str]
    data: Any

    @property
    def type(self) -> str | None:
        """The reply event's type (``ce-type``), or None when there is no reply event."""
        return self.headers.get("ce-type")


def role_app(role: Role, runner: ScriptedRunner, state_dir: Path, **env: str) -> FlaskClient:
    """The role's app on the runner's variant; ``env`` is the whole environment it sees."""
    app = create_app(
        role, runner.variant, runner=runner, env={"BINKS_STATE_DIR": str(state_dir), **env}
    )
    app.config["TESTING"] = False  # the real error handlers
    return app.test_client()


def send(
    client: FlaskClient, event_type: str, data: Mapping[str, Any], task: str = "task-1"
) -> Answered:
    """POST one binary-mode event of ``task`` (a fresh id each time) and read the answer."""
    headers = {
        "ce-specversion": "1.0",
        "ce-id": f"test-{next(_EVENT_IDS)}",
        "ce-source": "/tests",
        "ce-type": event_type,
        "ce-binkstask": task,
        "content-type": "application/json",
    }
    response = client.post("/", data=json.dumps(data), headers=headers)
    body = response.get_json(silent=True) if response.data else None
    lowered = {key.lower(): value for key, value in response.headers.items()}
    return Answered(response.status_code, lowered, body)

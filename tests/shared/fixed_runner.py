"""A runner that stands in for a framework in the shared tests: one fixed answer."""

from __future__ import annotations

from shared.role import AgentTask


class FixedRunner:
    """Answers every task with ``answer`` (or raises it) and keeps the tasks."""

    variant = "agno"

    def __init__(self, answer: str | Exception = '{"verdict": "fine"}') -> None:
        self.answer = answer
        self.tasks: list[AgentTask] = []

    def run(self, task: AgentTask) -> str:
        self.tasks.append(task)
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer

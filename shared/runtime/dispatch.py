"""What the function does with one decoded request. No Flask here: request in, outcome out."""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from events import (
    TASK_EXTENSION,
    VARIANT_EXTENSION,
    VARIANTS,
    DataError,
    function_source,
    load_example,
    validate_data,
)
from shared.role import Context, Reply, Role, Runner, run_role
from shared.runtime.cloudevent import Incoming, encode_binary
from shared.runtime.errors import InvalidData, InvalidEvent, UnsupportedEvent

#: What ``kn func invoke`` sends when told nothing else.
KN_INVOKE_DEFAULT_TYPE = "boson.fn"
_TASK_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:/-]{0,127}$")


@dataclass(frozen=True)
class Outcome:
    """The HTTP answer to one request, plus what the event log needs to know."""

    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    note: str = ""
    reply_type: str | None = None


@dataclass(frozen=True)
class Dispatcher:
    """Routes decoded requests to one role run by one variant's runner."""

    role: Role
    runner: Runner
    context: Context
    service: str

    def __call__(self, incoming: Incoming) -> Outcome:
        if incoming.mode == "plain":
            reply = self._run(incoming.data)
            status = 502 if reply.failed else 200
            body = json.dumps(reply.data).encode()
            return Outcome(
                status, {"Content-Type": "application/json"}, body, reply_type=reply.type
            )
        return self._event(incoming)

    def _event(self, incoming: Incoming) -> Outcome:
        if incoming.type == KN_INVOKE_DEFAULT_TYPE:
            raise UnsupportedEvent(
                f"this function takes {self.role.request_type} events, not kn func invoke's "
                f"default {KN_INVOKE_DEFAULT_TYPE!r}",
                self._help(),
            )
        if incoming.type != self.role.request_type:
            return Outcome(202, note="ignored: event type not handled here")
        wanted, task = self._routing(incoming)
        if wanted is not None and wanted != self.context.variant:
            return Outcome(202, note=f"ignored: addressed to variant {wanted}")
        reply = self._run(incoming.data)
        attributes = {
            "specversion": "1.0",
            "id": str(uuid.uuid4()),
            "source": function_source(self.service),
            "type": reply.type,
            "time": datetime.now(UTC),
            "datacontenttype": "application/json",
            VARIANT_EXTENSION: self.context.variant,
            TASK_EXTENSION: task,
        }
        headers, body = encode_binary(attributes, reply.data)
        return Outcome(200, headers, body, reply_type=reply.type)

    def _routing(self, incoming: Incoming) -> tuple[str | None, str]:
        problems = {}
        wanted = incoming.extension(VARIANT_EXTENSION)
        if wanted is not None and wanted not in VARIANTS:
            problems[VARIANT_EXTENSION] = f"must be one of {', '.join(VARIANTS)}, got {wanted!r}"
        task = incoming.extension(TASK_EXTENSION)
        if task is None:
            task = incoming.attributes["id"]  # a request without a task id starts a task
        elif not isinstance(task, str) or not _TASK_ID.match(task):
            problems[TASK_EXTENSION] = "must be 1-128 characters: letters, digits, . _ : / -"
        if problems:
            raise InvalidEvent("invalid Binks extension attributes", problems)
        return wanted, str(task)

    def _run(self, data: Any) -> Reply:
        try:
            validate_data(self.role.request_type, data)
        except DataError as invalid:
            raise InvalidData(str(invalid), {**invalid.errors, **self._help()}) from None
        reply = run_role(self.role, self.runner, data, self.context)
        validate_data(reply.type, reply.data)  # our own contract: a bug here is a 500
        return reply

    def _help(self) -> dict[str, Any]:
        example = load_example(self.role.request_type)["data"]
        return {
            "accepts": self.role.request_type,
            "example_data": example,
            "try": (
                f"kn func invoke --format cloudevent --type {self.role.request_type} "
                f"--data '{json.dumps(example)}'"
            ),
        }

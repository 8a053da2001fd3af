"""What the function does with one decoded request. No Flask here: request in, outcome out."""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from events import (
    TASK_EXTENSION,
    VARIANT_EXTENSION,
    VARIANTS,
    DataError,
    function_source,
    load_example,
    validate_data,
)
from shared.errors import InvalidData, InvalidEvent, SinkUnavailable, UnsupportedEvent
from shared.role import Context, Reply, Role, Runner, run_step
from shared.runtime.idempotency import SeenEvents
from shared.wire import Incoming, encode_binary

if TYPE_CHECKING:  # imported by the app only with telemetry on
    from shared.telemetry.tracecontext import TraceContext

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
    """Routes decoded requests to one role run by one variant's runner.

    ``config`` is what the role's ``configure`` returned; every handler gets it.
    ``structured_answer``: send each agent step's answer schema as structured output.
    """

    role: Role
    runner: Runner
    context: Context
    service: str
    sink: str = ""
    seen: SeenEvents | None = None
    config: Any = None
    structured_answer: bool = False

    def __call__(self, incoming: Incoming, trace: TraceContext | None = None) -> Outcome:
        """Answer one request; every event emitted carries ``trace`` (the handler's span)
        as its Distributed Tracing extension."""
        if incoming.mode == "plain":
            task = str(uuid.uuid4())
            reply = self._run(incoming.data, self.role.request_type, task)
            if reply is None:
                return Outcome(202, note="accepted, nothing to answer yet")
            self._publish(reply.emits, task, (self.service, task), trace)
            status = 502 if reply.failed else 200
            body = json.dumps(reply.data).encode()
            return Outcome(
                status, {"Content-Type": "application/json"}, body, reply_type=reply.type
            )
        return self._event(incoming, trace)

    def _event(self, incoming: Incoming, trace: TraceContext | None) -> Outcome:
        if incoming.type == KN_INVOKE_DEFAULT_TYPE:
            raise UnsupportedEvent(
                f"this function takes {self.role.request_type} events, not kn func invoke's "
                f"default {KN_INVOKE_DEFAULT_TYPE!r}",
                self._help(),
            )
        if incoming.type not in self.role.accepts:
            return Outcome(202, note="ignored: event type not handled here")
        wanted, task = self._routing(incoming)
        if wanted is not None and wanted != self.context.variant:
            return Outcome(202, note=f"ignored: addressed to variant {wanted}")
        key = (str(incoming.attributes["source"]), str(incoming.attributes["id"]))
        if self.seen and (answered := self.seen.get(*key)):
            status, headers, body = answered
            note = "duplicate: answered as the first time, not run again"
            return Outcome(status, headers, body, note=note, reply_type=headers.get("ce-type"))
        reply = self._run(incoming.data, str(incoming.type), task)
        if reply is None:
            if self.seen:
                self.seen.put(*key, 202, {}, b"")
            return Outcome(202, note="accepted, nothing to answer yet")
        headers, body = encode_binary(self._attributes(reply, task, key, 0, trace), reply.data)
        self._publish(reply.emits, task, key, trace)
        if self.seen:
            self.seen.put(*key, 200, headers, body)
        return Outcome(200, headers, body, reply_type=reply.type)

    def _attributes(
        self, reply: Reply, task: str, cause: tuple[str, str], n: int, trace: TraceContext | None
    ) -> dict:
        # ids derived from the cause: a redelivered request yields the same event ids,
        # so consumers that de-duplicate on (source, id) see duplicates as duplicates
        event_id = uuid.uuid5(uuid.NAMESPACE_URL, f"{cause[0]}|{cause[1]}|{self.service}|{n}")
        return {
            "specversion": "1.0",
            "id": str(event_id),
            "source": function_source(self.service),
            "type": reply.type,
            "time": datetime.now(UTC),
            "datacontenttype": "application/json",
            VARIANT_EXTENSION: self.context.variant,
            TASK_EXTENSION: reply.task or task,
            **(trace.attributes() if trace else {}),
        }

    def _publish(
        self,
        events: tuple[Reply, ...],
        task: str,
        cause: tuple[str, str],
        trace: TraceContext | None,
    ) -> None:
        """POST each extra event to ``K_SINK`` (binary mode) before the reply is sent."""
        if not events:
            return
        if not self.sink:
            raise SinkUnavailable(f"{len(events)} events to publish but K_SINK is not set")
        for n, event in enumerate(events, start=1):
            validate_data(event.type, event.data)
            attributes = self._attributes(event, task, cause, n, trace)
            headers, body = encode_binary(attributes, event.data)
            request = urllib.request.Request(self.sink, body, headers, method="POST")
            try:
                with urllib.request.urlopen(request, timeout=10) as answer:
                    answer.read()
            except (urllib.error.URLError, OSError) as problem:
                raise SinkUnavailable(
                    f"K_SINK {self.sink} refused {event.type}: {problem}"
                ) from None

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

    def _run(self, data: Any, event_type: str, task: str) -> Reply | None:
        try:
            validate_data(event_type, data)
        except DataError as invalid:
            raise InvalidData(str(invalid), {**invalid.errors, **self._help()}) from None
        context = replace(self.context, event_type=event_type, task=task)
        reply = run_step(
            self.role,
            self.runner,
            data,
            context,
            self.config,
            structured_answer=self.structured_answer,
        )
        if reply is not None:
            validate_data(reply.type, reply.data)  # our own contract: a bug here is a 500
        return reply

    def _help(self) -> dict[str, Any]:
        example = load_example(self.role.request_type)["data"]
        return {
            "accepts": list(self.role.accepts),
            "example_data": example,
            "try": (
                f"kn func invoke --format cloudevent --type {self.role.request_type} "
                f"--data '{json.dumps(example)}'"
            ),
            # the local twin: `binks invoke` sends the request type by default
            "try_locally": f"binks invoke {self.service} --data '{json.dumps(example)}'",
        }

"""A function's traces and metrics: the handler span of each request, a span per model
call, and ``/metrics`` in Prometheus' text format (:mod:`shared.telemetry.metrics`), labelled
with the variant.

Both variants get exactly this code; nothing here knows a framework. The trace context
comes in as the HTTP ``traceparent`` (the platform's delivery span, or Knative's broker
with tracing on), else as the event's own (the CloudEvents Distributed Tracing
extension), else a new trace starts; every event the function emits carries the handler
span's context. ``BINKS_TELEMETRY=off`` turns all of it off (nothing imported, no
``/metrics``): what the bench compares to measure its cost.
"""

from __future__ import annotations

import atexit
import contextlib
import contextvars
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from shared.runtime import logs
from shared.telemetry.metrics import Counter, Histogram, Registry
from shared.telemetry.spans import Exporter, Span, Value, exporter_from_env, now_ns
from shared.telemetry.tracecontext import TraceContext, carried_by, child_of

#: The handler span of the request this thread is serving (model calls are its children).
CURRENT: contextvars.ContextVar[TraceContext | None] = contextvars.ContextVar(
    "binks_span", default=None
)
HANDLER_BUCKETS = (0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300)
MODEL_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 40, 80, 160)


def incoming_context(
    headers: Mapping[str, str], attributes: Mapping[str, Any]
) -> TraceContext | None:
    """The context a request continues: the HTTP ``traceparent`` (the hop that delivered
    it), else the event's Distributed Tracing extension; None when neither is valid."""
    return carried_by(headers) or carried_by(attributes)


@dataclass(frozen=True)
class ModelCall:
    """What one HTTP call to the model server did (``shared.runtime.model_calls``)."""

    path: str
    status: int
    started_ns: int
    ended_ns: int
    tokens_in: int | None = None
    tokens_out: int | None = None
    tool_calls: int = 0
    error: str | None = None


class FunctionTelemetry:
    """One function's registry, its spans' exporter and the labels they carry."""

    def __init__(self, service: str, variant: str, env: Mapping[str, str]) -> None:
        self.service, self.variant = service, variant
        resource: dict[str, Value] = {"service.name": service, "binks.variant": variant}
        self.exporter: Exporter | None = exporter_from_env(env, resource, _warn)
        if self.exporter is not None:  # what is queued at a drained exit still goes out
            atexit.register(self.close)
        self.registry = registry = Registry()
        labels = ("service", "variant")
        self.events = registry.add(Counter(
            "binks_function_events", "Requests by event type and outcome",
            (*labels, "type", "outcome"),
        ))  # fmt: skip
        self.handler = registry.add(Histogram(
            "binks_function_handler_seconds", "Time to answer one request, by event type",
            (*labels, "type"), HANDLER_BUCKETS,
        ))  # fmt: skip
        self.model_seconds = registry.add(Histogram(
            "binks_model_call_seconds", "One HTTP call to the model server", labels,
            MODEL_BUCKETS,
        ))  # fmt: skip
        self.model_calls = registry.add(Counter(
            "binks_model_calls", "Calls to the model server by outcome", (*labels, "outcome")
        ))  # fmt: skip
        self.tokens = registry.add(Counter(
            "binks_model_tokens", "Tokens the model server counted, in (prompt) and out",
            (*labels, "direction"),
        ))  # fmt: skip
        self.tool_calls = registry.add(
            Counter("binks_model_tool_calls", "Tool calls the model asked for", labels)
        )

    def continue_trace(
        self, headers: Mapping[str, str], attributes: Mapping[str, Any]
    ) -> TraceContext:
        """The handler span of a request: a child of its context
        (:func:`incoming_context`), or the first span of a new trace."""
        return child_of(incoming_context(headers, attributes))

    @contextlib.contextmanager
    def current(self, context: TraceContext) -> Iterator[None]:
        """``context`` is the running span (the parent of model calls) inside."""
        token = CURRENT.set(context)
        try:
            yield
        finally:
            CURRENT.reset(token)

    def exposition(self) -> bytes:
        """``/metrics``' body."""
        return self.registry.exposition()

    def request_done(
        self,
        context: TraceContext,
        started_ns: int,
        event_type: str,
        outcome: str,
        fields: Mapping[str, Value | None],
        error: str | None = None,
    ) -> None:
        """The handler span of one request, and its metrics."""
        ended_ns = now_ns()
        attributes = {k: v for k, v in fields.items() if v is not None}
        span = Span("handle", context, started_ns, ended_ns, "server", attributes, error)
        self._finish(span)
        kind = event_type or "none"
        self.events.inc((self.service, self.variant, kind, outcome))
        self.handler.observe((self.service, self.variant, kind), (ended_ns - started_ns) / 1e9)

    def model_call(self, call: ModelCall) -> None:
        """A model call's span (a child of the request's, when there is one) and metrics."""
        parent = CURRENT.get()
        context = child_of(parent)
        attributes: dict[str, Value] = {"http.path": call.path, "http.status": call.status}
        attributes["tool_calls"] = call.tool_calls
        for key, count in (("tokens_in", call.tokens_in), ("tokens_out", call.tokens_out)):
            if count is not None:
                attributes[key] = count
                self.tokens.inc((self.service, self.variant, key[7:]), count)
        span = Span(
            "model call", context, call.started_ns, call.ended_ns, "client", attributes, call.error
        )
        self._finish(span, log=True)
        labels = (self.service, self.variant)
        self.model_seconds.observe(labels, (call.ended_ns - call.started_ns) / 1e9)
        self.model_calls.inc((*labels, "error" if call.error else "ok"))
        self.tool_calls.inc(labels, call.tool_calls)

    def _finish(self, span: Span, log: bool = False) -> None:
        if log:  # the handler span is the request's own log line (app.py)
            logs.log_line(
                msg=span.name, service=self.service, variant=self.variant, **span.record()
            )
        if self.exporter is not None:
            self.exporter.export(span)

    def close(self) -> None:
        """Send what the exporter still holds (at shutdown)."""
        if self.exporter is not None:
            self.exporter.close()


def _warn(message: str) -> None:
    logs.log_line(msg="telemetry", warning=message)

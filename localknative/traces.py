"""The platform's spans: one per delivery attempt (queue wait, cold start, handler
time) and one per trace it starts at the ingress; kept in memory, bounded, for the
dashboard, and exported over OTLP when the platform's environment names an endpoint.

Each delivery continues the delivered event's ``traceparent`` and hands its own span to
the function in the HTTP ``traceparent`` header, so a function's handler span is the
delivery's child and the events it emits continue the same trace.
"""

from __future__ import annotations

import sys
from collections import deque
from collections.abc import Mapping
from typing import Any

from shared.telemetry.spans import Exporter, Span, exporter_from_env
from shared.telemetry.tracecontext import TRACEPARENT, TRACESTATE, TraceContext

#: Spans kept for the dashboard; the oldest go first.
MAX_SPANS = 5000


def with_context(attributes: dict[str, str], context: TraceContext) -> dict[str, str]:
    """``attributes`` carrying ``context`` as the event's trace context (any old value,
    valid or not, replaced)."""
    attributes = {k: v for k, v in attributes.items() if k not in (TRACEPARENT, TRACESTATE)}
    return {**attributes, **context.attributes()}


class Traces:
    """Finished spans, newest last, at most :data:`MAX_SPANS`."""

    def __init__(self, env: Mapping[str, str] = (), service_name: str = "localknative") -> None:
        self.spans: deque[dict[str, Any]] = deque(maxlen=MAX_SPANS)
        resource = {"service.name": service_name}
        self.exporter: Exporter | None = exporter_from_env(dict(env), resource, _warn)

    def add(self, span: Span) -> None:
        """Keep ``span`` (as its record) and export it if an exporter is set."""
        self.spans.append(span.record())
        if self.exporter is not None:
            self.exporter.export(span)

    def keep(self, record: dict[str, Any]) -> None:
        """Keep a span another process recorded (a function's, :mod:`localknative.span_intake`)."""
        self.spans.append(record)

    def close(self) -> None:
        """Send what the exporter still holds."""
        if self.exporter is not None:
            self.exporter.close()

    def deliveries(self, tasks: int = 20) -> list[dict[str, Any]]:
        """The newest ``tasks`` tasks' delivery spans grouped by task, newest task first:
        ``{"task", "started", "trace_ids", "hops": [span records, oldest first]}``."""
        grouped: dict[str, list[dict[str, Any]]] = {}
        children: dict[str, list[dict[str, Any]]] = {}
        for record in self.spans:
            if record["span"] == "delivery" and record.get("task"):
                grouped.setdefault(record["task"], []).append(record)
            elif record.get("parent_id"):
                children.setdefault(record["parent_id"], []).append(record)
        grouped = {
            task: [{**hop, **inside(hop, children)} for hop in hops]
            for task, hops in grouped.items()
        }
        newest = sorted(grouped.items(), key=lambda item: item[1][-1]["start"], reverse=True)
        return [
            {
                "task": task,
                "started": hops[0]["start"],
                "trace_ids": sorted({h["trace_id"] for h in hops}),
                "hops": hops,
            }
            for task, hops in newest[:tasks]
        ]


def inside(hop: dict[str, Any], children: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """What the function did with a delivered event, from its spans (when it sent them):
    its handler's time, and its model calls with their tokens and tool calls."""
    handlers = [c for c in children.get(hop["span_id"], []) if c["span"] == "handle"]
    if not handlers:
        return {}
    handler = handlers[-1]
    calls = [c for c in children.get(handler["span_id"], []) if c["span"] == "model call"]
    return {
        "function_ms": handler["duration_ms"],
        "model_calls": len(calls),
        "model_ms": round(sum(c["duration_ms"] for c in calls), 1),
        "tokens_in": sum(c.get("tokens_in", 0) for c in calls),
        "tokens_out": sum(c.get("tokens_out", 0) for c in calls),
        "tool_calls": sum(c.get("tool_calls", 0) for c in calls),
    }


def _warn(message: str) -> None:
    print(f"localknative: {message}", file=sys.stderr, flush=True)

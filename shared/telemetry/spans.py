"""Finished spans: a frozen record, its log form, and where it goes.

A span is written when it ends, never before: nothing here holds state between
requests besides the optional exporter's queue. Export over OTLP happens only when
``OTEL_EXPORTER_OTLP_ENDPOINT`` (or ``..._TRACES_ENDPOINT``) is set; only then is
:mod:`shared.telemetry.otlp` imported, so a function without it pays nothing for it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from shared.telemetry.tracecontext import TraceContext

#: Span kinds, as OpenTelemetry names them.
KINDS = ("internal", "server", "client", "producer", "consumer")
Value = str | int | float | bool


@dataclass(frozen=True)
class Span:
    """One finished operation: ``name``, where it sits in its trace, its wall-clock
    start and end (ns since the epoch), ``kind``, attributes, and ``error`` (None: ok)."""

    name: str
    context: TraceContext
    start_ns: int
    end_ns: int
    kind: str = "internal"
    attributes: Mapping[str, Value] = field(default_factory=dict)
    error: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"span kind {self.kind!r} is not one of {', '.join(KINDS)}")

    @property
    def duration_ms(self) -> float:
        """How long it took, in milliseconds."""
        return (self.end_ns - self.start_ns) / 1e6

    def record(self) -> dict[str, Any]:
        """The span as one flat JSON object (a log line, the dashboard)."""
        return {
            "span": self.name,
            "trace_id": self.context.trace_id,
            "span_id": self.context.span_id,
            "parent_id": self.context.parent_id,
            "kind": self.kind,
            "start": self.start_ns / 1e9,
            "duration_ms": round(self.duration_ms, 3),
            "error": self.error,
            **self.attributes,
        }


def now_ns() -> int:
    """Wall-clock time in ns since the epoch (what spans are stamped with)."""
    return time.time_ns()


class Exporter(Protocol):
    """Where finished spans go besides the log (:class:`~shared.telemetry.otlp.OtlpExporter`)."""

    def export(self, span: Span) -> None: ...

    def close(self, timeout_s: float = 5.0) -> None: ...


def exporter_from_env(
    env: Mapping[str, str], resource: Mapping[str, Value], warn: Callable[[str], None]
) -> Exporter | None:
    """An OTLP exporter when the environment names an endpoint (the OpenTelemetry
    variables), else None; ``warn`` hears why one that is asked for cannot be made."""
    endpoint = env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "").strip()
    base = env.get("OTEL_EXPORTER_OTLP_ENDPOINT", "").strip()
    if not endpoint and not base:
        return None
    from shared.telemetry import otlp  # only now: a function without an endpoint never pays

    try:
        return otlp.OtlpExporter.from_env(env, resource)
    except otlp.OtlpConfigError as problem:
        warn(f"no OTLP export: {problem}")
        return None

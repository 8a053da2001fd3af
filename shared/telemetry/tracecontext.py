"""W3C Trace Context (``traceparent``, ``tracestate``): parse, make, continue.

The CloudEvents Distributed Tracing extension carries the same two values as event
attributes; HTTP carries them as headers. Pure functions over a frozen value: nothing
here reads a clock or the environment.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

#: The names of the two attributes (CloudEvents extension) and headers (HTTP).
TRACEPARENT = "traceparent"
TRACESTATE = "tracestate"
#: A ``tracestate`` longer than this is dropped, as the W3C spec allows (512 characters).
MAX_TRACESTATE = 512

_TRACEPARENT = re.compile(r"^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$")
_TRACESTATE_MEMBER = re.compile(
    r"^[a-z0-9][a-z0-9_\-*/@]{0,255}=[\x20-\x2b\x2d-\x3c\x3e-\x7e]{0,256}$"
)
_SAMPLED = 0x01


@dataclass(frozen=True)
class TraceContext:
    """One span's place in a trace: ``trace_id`` (32 hex), ``span_id`` (16 hex), the
    ``sampled`` flag, the vendor ``tracestate`` passed on untouched, and ``parent_id``:
    the span this one continues (None for a trace's first span)."""

    trace_id: str
    span_id: str
    sampled: bool = True
    tracestate: str = ""
    parent_id: str | None = None

    @property
    def traceparent(self) -> str:
        """The ``traceparent`` value that makes the receiver this span's child."""
        return f"00-{self.trace_id}-{self.span_id}-{_SAMPLED if self.sampled else 0:02x}"

    def attributes(self) -> dict[str, str]:
        """The CloudEvents extension attributes (or HTTP headers) for this span."""
        return {
            TRACEPARENT: self.traceparent,
            **({TRACESTATE: self.tracestate} if self.tracestate else {}),
        }


def parse(traceparent: str | None, tracestate: str | None = None) -> TraceContext | None:
    """The context in a ``traceparent`` value; None when there is none or it is not
    valid (W3C: an invalid header is ignored and a new trace starts). A future version
    is read as version 00, as the spec asks."""
    if not traceparent:
        return None
    match = _TRACEPARENT.match(traceparent.strip().lower())
    if not match:
        return None
    version, trace_id, span_id, flags, rest = match.groups()
    if version == "ff" or (version == "00" and rest):
        return None
    if trace_id == "0" * 32 or span_id == "0" * 16:
        return None
    return TraceContext(
        trace_id, span_id, bool(int(flags, 16) & _SAMPLED), clean_tracestate(tracestate)
    )


def carried_by(values: Mapping[str, Any]) -> TraceContext | None:
    """The context in ``traceparent``/``tracestate`` of an event's attributes or a
    request's headers (None when absent, invalid or not text)."""
    parent, state = values.get(TRACEPARENT), values.get(TRACESTATE)
    return parse(
        parent if isinstance(parent, str) else None, state if isinstance(state, str) else None
    )


def clean_tracestate(value: str | None) -> str:
    """``value`` when it is a valid ``tracestate`` list of at most 32 members within
    :data:`MAX_TRACESTATE` characters, else empty (dropped, never repaired)."""
    if not value or len(value) > MAX_TRACESTATE:
        return ""
    members = [m.strip() for m in value.split(",") if m.strip()]
    if len(members) > 32 or not all(_TRACESTATE_MEMBER.match(m) for m in members):
        return ""
    return ",".join(members)


def new_trace() -> TraceContext:
    """The first span of a new, sampled trace."""
    return TraceContext(secrets.token_hex(16), secrets.token_hex(8))


def child_of(parent: TraceContext | None) -> TraceContext:
    """A new span continuing ``parent`` (same trace, its span as the parent); a new
    trace when there is no parent."""
    if parent is None:
        return new_trace()
    return TraceContext(
        parent.trace_id, secrets.token_hex(8), parent.sampled, parent.tracestate, parent.span_id
    )

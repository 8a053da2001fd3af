"""The platform's OTLP/HTTP JSON intake (``POST /_binks/otlp/v1/traces``): the spans
of the functions it starts (handler, model calls) join its own, so the dashboard shows
what each hop did inside (model calls, tokens, tool calls).

``binks up`` points its functions here (``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`` with the
credential in ``OTEL_EXPORTER_OTLP_HEADERS``) unless the environment names a collector
of its own; behind the control guard like every ``/_binks/*`` path.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from typing import Any

from aiohttp import web

from localknative.guards import error
from localknative.traces import Traces
from shared.telemetry.spans import KINDS

PATH = "/_binks/otlp/v1/traces"
#: The most spans one export may carry (the exporter sends at most 256).
MAX_SPANS = 1024
_KIND_NAMES = {number: kind for number, kind in enumerate(KINDS, start=1)}


def intake_env(base_url: str, token: str, env: Mapping[str, str]) -> dict[str, str]:
    """The variables that send a function's spans here; none when ``env`` already names
    a collector (the user's wins)."""
    if env.get("OTEL_EXPORTER_OTLP_ENDPOINT") or env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"):
        return {}
    return {
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": base_url + PATH,
        "OTEL_EXPORTER_OTLP_HEADERS": f"Authorization=Bearer%20{token}",
    }


def records(body: Any) -> list[dict[str, Any]]:
    """The span records of an ``ExportTraceServiceRequest`` (OTLP/JSON); ValueError
    naming what is not one."""
    if not isinstance(body, dict) or not isinstance(body.get("resourceSpans"), list):
        raise ValueError("not an OTLP ExportTraceServiceRequest: no resourceSpans list")
    found = []
    for resource in body["resourceSpans"]:
        service = _attributes(resource.get("resource", {}).get("attributes"))
        for scope in resource.get("scopeSpans") or []:
            for span in scope.get("spans") or []:
                found.append(_record(span, service))
                if len(found) > MAX_SPANS:
                    raise ValueError(f"more than {MAX_SPANS} spans in one export")
    return found


def _record(span: Any, resource: Mapping[str, Any]) -> dict[str, Any]:
    if not isinstance(span, dict):
        raise ValueError("a span is not an object")
    try:
        start, end = int(span["startTimeUnixNano"]), int(span["endTimeUnixNano"])
        ids = {k: str(span[k]) for k in ("traceId", "spanId")}
    except (KeyError, TypeError, ValueError):
        raise ValueError(
            "a span needs traceId, spanId, startTimeUnixNano, endTimeUnixNano"
        ) from None
    status = span.get("status") or {}
    attributes = _attributes(span.get("attributes"))
    return {
        **attributes,
        "span": str(span.get("name", ""))[:100],
        "trace_id": ids["traceId"][:32],
        "span_id": ids["spanId"][:16],
        "parent_id": str(span["parentSpanId"])[:16] if span.get("parentSpanId") else None,
        "kind": _KIND_NAMES.get(span.get("kind"), "internal"),
        "start": start / 1e9,
        "duration_ms": round((end - start) / 1e6, 3),
        "error": str(status.get("message") or "error")[:500] if status.get("code") == 2 else None,
        "service": str(resource.get("service.name", ""))[:100],
        "variant": str(resource.get("binks.variant", ""))[:20],
    }


def _attributes(items: Any) -> dict[str, Any]:
    """OTLP's ``[{key, value: {stringValue|intValue|...}}]`` as a flat dict (scalars only)."""
    flat: dict[str, Any] = {}
    for item in items if isinstance(items, list) else []:
        if not isinstance(item, dict) or not isinstance(item.get("value"), dict):
            continue
        for kind, value in item["value"].items():
            if kind == "intValue":
                with contextlib.suppress(TypeError, ValueError):
                    flat[str(item.get("key"))[:100]] = int(str(value)[:20])
            elif kind in ("stringValue", "doubleValue", "boolValue"):
                flat[str(item.get("key"))[:100]] = (
                    value if kind != "stringValue" else str(value)[:500]
                )
    return flat


class SpanIntake:
    """The handler; the spans go to ``traces``."""

    def __init__(self, traces: Traces) -> None:
        self.traces = traces

    async def receive(self, request: web.Request) -> web.Response:
        try:
            found = records(await request.json())
        except ValueError as problem:  # JSONDecodeError is one
            return error(400, f"not OTLP/JSON traces: {str(problem)[:200]}")
        for record in found:
            self.traces.keep(record)
        return web.json_response({"partialSuccess": {}})

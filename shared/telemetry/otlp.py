"""OTLP/HTTP export of finished spans, JSON encoded, standard library only.

Imported only when an endpoint is configured (:func:`shared.telemetry.spans.exporter_from_env`).
JSON over HTTP is the one OTLP transport a collector always takes beside protobuf;
writing it here keeps the two variants' environments free of an SDK that one of them
(crewai) ships and the other does not. Spans are queued, bounded, and posted in
batches by one daemon thread: a slow or absent collector never slows a request; what
does not fit or cannot be sent is counted as dropped, not retried.
"""

from __future__ import annotations

import json
import queue
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterable, Mapping
from typing import Any

from shared.telemetry.spans import Span, Value

TRACES_PATH = "/v1/traces"
MAX_QUEUE = 2048
MAX_BATCH = 256
#: How long a batch waits for more spans before it is sent (OpenTelemetry's SDK: 5 s).
BATCH_DELAY_S = 0.5
#: OTLP's status codes and span kinds as the protobuf enums number them.
_STATUS_OK, _STATUS_ERROR = 1, 2
_KIND = {"internal": 1, "server": 2, "client": 3, "producer": 4, "consumer": 5}


class OtlpConfigError(ValueError):
    """The OTEL_* variables ask for something this exporter cannot do."""


def _value(value: Value) -> dict[str, Any]:
    if isinstance(value, bool):
        return {"boolValue": value}
    if isinstance(value, int):
        return {"intValue": str(value)}  # int64 as a string: the protobuf JSON mapping
    if isinstance(value, float):
        return {"doubleValue": value}
    return {"stringValue": str(value)}


def _attributes(values: Mapping[str, Value]) -> list[dict[str, Any]]:
    return [{"key": k, "value": _value(v)} for k, v in values.items() if v is not None]


def encode(spans: Iterable[Span], resource: Mapping[str, Value]) -> dict[str, Any]:
    """An ``ExportTraceServiceRequest`` in OTLP's JSON form (ids as hex, as OTLP/JSON
    specifies, not protobuf JSON's base64)."""
    encoded = []
    for span in spans:
        item: dict[str, Any] = {
            "traceId": span.context.trace_id,
            "spanId": span.context.span_id,
            "name": span.name,
            "kind": _KIND[span.kind],
            "startTimeUnixNano": str(span.start_ns),
            "endTimeUnixNano": str(span.end_ns),
            "attributes": _attributes(span.attributes),
            "status": {"code": _STATUS_ERROR, "message": span.error}
            if span.error
            else {"code": _STATUS_OK},
        }
        if span.context.parent_id:
            item["parentSpanId"] = span.context.parent_id
        if span.context.tracestate:
            item["traceState"] = span.context.tracestate
        encoded.append(item)
    return {
        "resourceSpans": [
            {
                "resource": {"attributes": _attributes(resource)},
                "scopeSpans": [{"scope": {"name": "binks"}, "spans": encoded}],
            }
        ]
    }


def parse_headers(raw: str) -> dict[str, str]:
    """``OTEL_EXPORTER_OTLP_HEADERS``: ``key=value`` pairs, comma-separated, values
    percent-decoded; OtlpConfigError names a pair that is not one."""
    headers = {}
    for pair in filter(None, (p.strip() for p in raw.split(","))):
        key, equals, value = pair.partition("=")
        if not equals or not key.strip():
            raise OtlpConfigError(f"OTEL_EXPORTER_OTLP_HEADERS: {pair[:40]!r} is not key=value")
        headers[key.strip()] = urllib.parse.unquote(value.strip())
    return headers


def endpoint_from_env(env: Mapping[str, str]) -> str:
    """The traces URL: ``..._TRACES_ENDPOINT`` as given, else ``..._ENDPOINT`` + /v1/traces."""
    protocol = env.get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL") or env.get(
        "OTEL_EXPORTER_OTLP_PROTOCOL", ""
    )
    if protocol.strip() == "grpc":
        raise OtlpConfigError("OTLP over gRPC is not supported here: use http/json (port 4318)")
    url = env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "").strip()
    if not url:
        url = env.get("OTEL_EXPORTER_OTLP_ENDPOINT", "").strip().rstrip("/") + TRACES_PATH
    if urllib.parse.urlsplit(url).scheme not in ("http", "https"):
        raise OtlpConfigError(f"the OTLP endpoint {url[:80]!r} is not an http(s) URL")
    return url


class OtlpExporter:
    """Posts spans to one OTLP/HTTP endpoint from a daemon thread, in batches."""

    def __init__(
        self,
        url: str,
        resource: Mapping[str, Value],
        headers: Mapping[str, str] = (),
        timeout_s: float = 5.0,
    ) -> None:
        self.url = url
        self.resource = dict(resource)
        self.headers = {**dict(headers), "Content-Type": "application/json"}
        self.timeout_s = timeout_s
        self.sent = 0
        self.dropped = 0
        self._queue: queue.Queue[Span | None] = queue.Queue(MAX_QUEUE)
        self._thread = threading.Thread(target=self._loop, name="otlp-export", daemon=True)
        self._thread.start()

    @classmethod
    def from_env(cls, env: Mapping[str, str], resource: Mapping[str, Value]) -> OtlpExporter:
        """The exporter the OTEL_EXPORTER_OTLP_* variables describe."""
        headers = parse_headers(
            env.get("OTEL_EXPORTER_OTLP_TRACES_HEADERS")
            or env.get("OTEL_EXPORTER_OTLP_HEADERS", "")
        )
        return cls(endpoint_from_env(env), resource, headers)

    def export(self, span: Span) -> None:
        """Queue ``span``; dropped (and counted) when the queue is full."""
        try:
            self._queue.put_nowait(span)
        except queue.Full:
            self.dropped += 1

    def close(self, timeout_s: float = 5.0) -> None:
        """Send what is queued, then stop (waits at most ``timeout_s``)."""
        try:
            self._queue.put(None, timeout=timeout_s)
        except queue.Full:
            return
        self._thread.join(timeout_s)

    def _loop(self) -> None:
        while True:
            first = self._queue.get()
            batch = [] if first is None else [first]
            last = first is None
            # what else comes within BATCH_DELAY_S goes in the same POST: a request's spans
            # (handler, model calls) are one export, not one each
            deadline = time.monotonic() + BATCH_DELAY_S
            while not last and len(batch) < MAX_BATCH:
                try:
                    item = self._queue.get(timeout=max(0.0, deadline - time.monotonic()))
                except queue.Empty:
                    break
                if item is None:
                    last = True
                else:
                    batch.append(item)
            if batch:
                self._post(batch)
            if last:
                return

    def _post(self, batch: list[Span]) -> None:
        body = json.dumps(encode(batch, self.resource)).encode()
        request = urllib.request.Request(self.url, body, self.headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as answer:
                answer.read(65536)
            self.sent += len(batch)
        except (urllib.error.URLError, OSError, ValueError):
            self.dropped += len(batch)

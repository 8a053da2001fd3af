"""A real OTLP/HTTP receiver for the tests: ``POST /v1/traces`` bodies kept, each one
checked against OpenTelemetry's own protobuf definitions (opentelemetry-proto)."""

from __future__ import annotations

import base64
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from google.protobuf import json_format
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest


def checked(body: dict[str, Any]) -> ExportTraceServiceRequest:
    """``body`` parsed by the official message (unknown fields refused). OTLP/JSON writes
    ids as hex where protobuf's JSON mapping expects base64: converted first, as the
    OTLP spec tells a receiver to."""
    copy = json.loads(json.dumps(body))
    for resource in copy.get("resourceSpans", []):
        for scope in resource.get("scopeSpans", []):
            for span in scope.get("spans", []):
                for key in ("traceId", "spanId", "parentSpanId"):
                    if key in span:
                        span[key] = base64.b64encode(bytes.fromhex(span[key])).decode()
    return json_format.ParseDict(copy, ExportTraceServiceRequest())


class OtlpReceiver:
    """Serves on 127.0.0.1, port 0; ``spans`` is every span received, flattened, with
    its resource attributes under ``resource``."""

    def __init__(self) -> None:
        self.spans: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self.changed = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                checked(body)  # raises on anything the real schema refuses
                with receiver.changed:
                    receiver.headers.append({k.lower(): v for k, v in self.headers.items()})
                    for resource in body["resourceSpans"]:
                        attrs = {
                            a["key"]: next(iter(a["value"].values()))
                            for a in resource["resource"]["attributes"]
                        }
                        for scope in resource["scopeSpans"]:
                            for span in scope["spans"]:
                                receiver.spans.append({**span, "resource": attrs})
                    receiver.changed.notify_all()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def wait_for(self, predicate, timeout_s: float = 30.0) -> list[dict[str, Any]]:
        """The spans once ``predicate(spans)`` holds; AssertionError with them if it never does."""
        with self.changed:
            if not self.changed.wait_for(lambda: predicate(self.spans), timeout_s):
                raise AssertionError(f"spans never matched; received: {self.spans}")
            return list(self.spans)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def attribute(span: dict[str, Any], key: str) -> Any:
    """One attribute's value of a received span (None when absent)."""
    for item in span.get("attributes", []):
        if item["key"] == key:
            return next(iter(item["value"].values()))
    return None

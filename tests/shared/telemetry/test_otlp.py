"""OTLP/HTTP JSON export: the encoding the official protobuf definitions accept, the
OpenTelemetry environment variables, and a real export to a real receiver."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from shared.telemetry import otlp
from shared.telemetry.spans import Span, exporter_from_env, now_ns
from shared.telemetry.tracecontext import child_of, new_trace

from .otlp_receiver import OtlpReceiver, attribute, checked


@pytest.fixture
def receiver() -> Iterator[OtlpReceiver]:
    server = OtlpReceiver()
    yield server
    server.close()


def spans() -> list[Span]:
    root = new_trace()
    start = now_ns()
    return [
        Span("handle", root, start, start + 5_000_000, "server", {"type": "x", "n": 3}),
        Span("model call", child_of(root), start, start + 1000, "client", {"ok": True}, "HTTP 500"),
    ]


def test_the_encoding_is_an_export_request_the_official_schema_accepts() -> None:
    body = otlp.encode(spans(), {"service.name": "code-reviewer-agno"})
    message = checked(body)
    decoded = message.resource_spans[0].scope_spans[0].spans
    print(message)
    assert [s.name for s in decoded] == ["handle", "model call"]
    assert decoded[1].parent_span_id == decoded[0].span_id
    assert decoded[1].status.code == 2 and decoded[1].status.message == "HTTP 500"
    assert decoded[0].kind == 2 and decoded[1].kind == 3  # server, client
    assert decoded[0].end_time_unix_nano - decoded[0].start_time_unix_nano == 5_000_000


def test_no_endpoint_no_exporter_and_no_import() -> None:
    assert exporter_from_env({}, {}, print) is None


@pytest.mark.parametrize(
    ("env", "problem"),
    [
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "x", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}, "gRPC"),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "ftp://collector"}, "not an http(s) URL"),
        (
            {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c", "OTEL_EXPORTER_OTLP_HEADERS": "nokey"},
            "not key=value",
        ),
    ],
)  # fmt: skip
def test_a_configuration_that_cannot_work_is_named_and_exports_nothing(
    env: dict[str, str], problem: str
) -> None:
    heard: list[str] = []
    assert exporter_from_env(env, {}, heard.append) is None
    print(heard)
    assert len(heard) == 1 and problem in heard[0]


def test_the_endpoint_gets_the_traces_path_unless_the_traces_endpoint_is_given() -> None:
    assert otlp.endpoint_from_env({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318/"}) == (
        "http://c:4318/v1/traces"
    )
    env = {
        "OTEL_EXPORTER_OTLP_ENDPOINT": "http://c",
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://t/x",
    }
    assert otlp.endpoint_from_env(env) == "http://t/x"
    assert otlp.parse_headers("a=1, Authorization=Bearer%20t") == {
        "a": "1",
        "Authorization": "Bearer t",
    }


def test_spans_reach_a_real_receiver_with_the_configured_headers(receiver: OtlpReceiver) -> None:
    env = {
        "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.url,
        "OTEL_EXPORTER_OTLP_HEADERS": "x-tenant=binks",
    }
    exporter = exporter_from_env(env, {"service.name": "t"}, print)
    assert exporter is not None
    for span in spans():
        exporter.export(span)
    exporter.close()
    received = receiver.wait_for(lambda s: len(s) == 2)
    print(received, receiver.headers)
    assert exporter.sent == 2 and exporter.dropped == 0
    assert receiver.headers[0]["x-tenant"] == "binks"
    assert received[0]["resource"] == {"service.name": "t"}
    assert attribute(received[0], "n") == "3"


def test_an_absent_collector_drops_spans_without_raising() -> None:
    exporter = otlp.OtlpExporter("http://127.0.0.1:9/v1/traces", {}, timeout_s=2)
    for span in spans():
        exporter.export(span)
    exporter.close()
    assert (exporter.sent, exporter.dropped) == (0, 2)

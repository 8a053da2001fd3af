"""The platform's OTLP/JSON intake: functions' spans in, anything else refused by name."""

from __future__ import annotations

import pytest

from localknative.span_intake import PATH, intake_env, records
from shared.telemetry import otlp
from shared.telemetry.spans import Span
from shared.telemetry.tracecontext import child_of, new_trace


def test_what_the_exporter_sends_is_read_back_as_records() -> None:
    root = new_trace()
    call = child_of(root)
    spans = [
        Span("handle", root, 1_000_000_000, 1_250_000_000, "server", {"type": "t"}),
        Span("model call", call, 1_000_000_000, 1_100_000_000, "client", {"tokens_in": 7}, "x"),
    ]
    body = otlp.encode(spans, {"service.name": "code-reviewer-agno", "binks.variant": "agno"})
    found = records(body)
    print(found)
    assert [r["span"] for r in found] == ["handle", "model call"]
    assert found[1]["parent_id"] == root.span_id and found[1]["tokens_in"] == 7
    assert found[1]["error"] == "x" and found[0]["error"] is None
    assert found[0]["duration_ms"] == 250.0 and found[0]["kind"] == "server"
    assert {r["service"] for r in found} == {"code-reviewer-agno"}


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ([], "no resourceSpans"),
        ({"resourceSpans": {}}, "no resourceSpans"),
        ({"resourceSpans": [{"scopeSpans": [{"spans": [{"name": "x"}]}]}]}, "needs traceId"),
        ({"resourceSpans": [{"scopeSpans": [{"spans": ["x"]}]}]}, "not an object"),
    ],
)
def test_a_body_that_is_not_otlp_traces_is_refused_by_name(body: object, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        records(body)


def test_functions_are_pointed_here_unless_a_collector_is_named() -> None:
    env = intake_env("http://127.0.0.1:8470", "tok", {})
    assert env["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"] == "http://127.0.0.1:8470" + PATH
    assert otlp.parse_headers(env["OTEL_EXPORTER_OTLP_HEADERS"]) == {"Authorization": "Bearer tok"}
    assert intake_env("http://x", "tok", {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c"}) == {}

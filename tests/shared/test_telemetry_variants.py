"""Traces and metrics of both variants as real processes, the real frameworks against the
scripted Ollama-API server, spans exported to a real OTLP receiver: the same trace from
the request through every model call to the reply, the same counts in ``/metrics``."""

from __future__ import annotations

import json
import urllib.request
import uuid
from collections.abc import Iterator

import pytest
from prometheus_client.parser import text_string_to_metric_families

from events import VARIANTS
from localknative.instances import FunctionProcess, FunctionSpec
from modelserver.scripted import ScriptedOllama, review_script
from tests.shared.telemetry.otlp_receiver import OtlpReceiver, attribute

pytestmark = pytest.mark.process

ANSWER = {"summary": "Scripted.", "findings": []}
SENT_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
SENT_SPAN = "00f067aa0ba902b7"


@pytest.fixture(scope="module")
def model() -> Iterator[ScriptedOllama]:
    with ScriptedOllama(review_script(ANSWER)) as server:
        yield server


@pytest.fixture(scope="module")
def receiver() -> Iterator[OtlpReceiver]:
    server = OtlpReceiver()
    yield server
    server.close()


@pytest.fixture(scope="module", params=VARIANTS)
def traced(request: pytest.FixtureRequest, model: ScriptedOllama, receiver: OtlpReceiver) -> dict:
    """One review per variant with a traceparent; the reply, the spans, /metrics."""
    variant = request.param
    env = {"OLLAMA_HOST": model.url, "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.url}
    with FunctionProcess(FunctionSpec("code_reviewer", variant), env=env) as instance:
        instance.wait_ready()
        before = len(model.requests)
        headers = {
            "Content-Type": "application/json",
            "ce-specversion": "1.0",
            "ce-id": str(uuid.uuid4()),
            "ce-source": "/tests",
            "ce-type": "dev.binks.review.requested",
            "ce-binkstask": f"traced-{variant}",
            "ce-traceparent": f"00-{SENT_TRACE}-{SENT_SPAN}-01",
        }
        body = json.dumps({"repository": "sample-repo"}).encode()
        call = urllib.request.Request(instance.url, body, headers, method="POST")
        with urllib.request.urlopen(call, timeout=120) as answer:
            reply = {k.lower(): v for k, v in answer.headers.items()}
        with urllib.request.urlopen(instance.url + "/metrics", timeout=10) as answer:
            metrics = answer.read().decode()
        service = f"code-reviewer-{variant}"
        spans = receiver.wait_for(
            lambda s: any(
                x["resource"]["service.name"] == service and x["name"] == "handle" for x in s
            )
        )
        mine = [s for s in spans if s["resource"]["service.name"] == service]
    return {
        "variant": variant,
        "reply": reply,
        "spans": mine,
        "metrics": metrics,
        "model_requests": model.requests[before:],
    }


def samples(text: str, name: str) -> dict[tuple, float]:
    """``{labels: value}`` of one metric's samples in Prometheus text."""
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name:
                found[tuple(sorted(sample.labels.items()))] = sample.value
    return found


def test_the_reply_continues_the_request_trace(traced: dict) -> None:
    parent = traced["reply"]["ce-traceparent"]
    print(parent)
    version, trace_id, span_id, flags = parent.split("-")
    assert (version, trace_id, flags) == ("00", SENT_TRACE, "01")
    (handle,) = [s for s in traced["spans"] if s["name"] == "handle"]
    assert handle["spanId"] == span_id, "the reply's traceparent is the handler span"
    assert handle["parentSpanId"] == SENT_SPAN
    assert handle["traceId"] == SENT_TRACE
    assert handle["resource"]["binks.variant"] == traced["variant"]


def test_every_model_call_is_a_child_span_with_its_counts(traced: dict) -> None:
    (handle,) = [s for s in traced["spans"] if s["name"] == "handle"]
    calls = [s for s in traced["spans"] if s["name"] == "model call"]
    print(calls)
    chats = [r for r in traced["model_requests"] if r["endpoint"] != "/api/show"]
    assert len(calls) == len(chats) == 3  # list_files, read_file, the answer
    assert {c["parentSpanId"] for c in calls} == {handle["spanId"]}
    assert sum(int(attribute(c, "tool_calls")) for c in calls) == 2
    assert all(attribute(c, "tokens_in") and attribute(c, "tokens_out") for c in calls)
    # the model server was told the trace too (W3C traceparent on each request)
    assert {r["traceparent"].split("-")[1] for r in chats} == {SENT_TRACE}


def test_metrics_count_the_request_and_the_model_calls_with_the_variant(traced: dict) -> None:
    text, variant = traced["metrics"], traced["variant"]
    service = ("service", f"code-reviewer-{variant}")
    events = samples(text, "binks_function_events_total")
    print(events)
    key = (
        ("outcome", "replied"),
        service,
        ("type", "dev.binks.review.requested"),
        ("variant", variant),
    )
    assert events[key] == 1
    assert samples(text, "binks_model_tool_calls_total") == {(service, ("variant", variant)): 2}
    calls = samples(text, "binks_model_calls_total")
    assert calls == {(("outcome", "ok"), service, ("variant", variant)): 3}
    assert samples(text, "binks_model_call_seconds_count") == {(service, ("variant", variant)): 3}

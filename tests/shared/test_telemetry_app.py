"""The function app's trace context and ``/metrics`` as a caller sees them (fixed runner)."""

from __future__ import annotations

import json
import os

from flask.testing import FlaskClient
from prometheus_client.parser import text_string_to_metric_families

from functions.code_reviewer.role import ROLE
from shared.runtime import create_app
from tests.shared.fixed_runner import FixedRunner
from tests.shared.test_app import CE, REPO

ANSWER = json.dumps({"summary": "one bug", "findings": []})
EVENT_TRACE = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
HOP_TRACE = "00-0af7651916cd43dd8448eb211c80319c-aaaaaaaaaaaaaaaa-01"


def client(**env: str) -> FlaskClient:
    app = create_app(
        ROLE,
        "crewai",
        runner=FixedRunner(ANSWER),
        env={
            "BINKS_REPO_BASE": str(REPO / "workspace"),
            "BINKS_STATE_DIR": os.environ["BINKS_STATE_DIR"],
            **env,
        },
    )
    return app.test_client()


def review(app: FlaskClient, event_id: str, **headers: str):
    body = json.dumps({"repository": "sample-repo"})
    return app.post("/", data=body, headers={**CE, "ce-id": event_id, **headers})


def test_the_hops_traceparent_header_is_the_parent_before_the_events_own() -> None:
    answer = review(client(), "a", **{"ce-traceparent": EVENT_TRACE, "traceparent": HOP_TRACE})
    print(answer.headers)
    assert answer.status_code == 200
    _, trace_id, span_id, _ = answer.headers["ce-traceparent"].split("-")
    assert trace_id == "0af7651916cd43dd8448eb211c80319c"
    assert span_id not in ("b7ad6b7169203331", "aaaaaaaaaaaaaaaa")


def test_an_event_without_trace_context_starts_a_trace(capfd) -> None:
    answer = review(client(), "b")
    line = json.loads(capfd.readouterr().err.strip().splitlines()[-1])
    print(line, answer.headers)
    _, trace_id, span_id, flags = answer.headers["ce-traceparent"].split("-")
    assert (line["trace_id"], line["span_id"], flags) == (trace_id, span_id, "01")


def test_an_invalid_traceparent_is_replaced_not_passed_on() -> None:
    answer = review(client(), "c", **{"ce-traceparent": "00-zz-yy-01"})
    assert answer.status_code == 200
    assert "zz" not in answer.headers["ce-traceparent"]


def test_metrics_are_served_in_prometheus_text_with_the_variant() -> None:
    app = client()
    review(app, "d")
    app.post("/", data="{not json", headers=CE)
    answer = app.get("/metrics")
    assert answer.status_code == 200 and answer.content_type.startswith("text/plain")
    counted = {
        (s.labels["type"], s.labels["outcome"]): s.value
        for f in text_string_to_metric_families(answer.get_data(as_text=True))
        for s in f.samples
        if s.name == "binks_function_events_total"
    }
    print(counted)
    assert counted[("dev.binks.review.requested", "replied")] == 1
    assert counted[("none", "rejected")] == 1
    assert 'variant="crewai"' in answer.get_data(as_text=True)


def test_telemetry_off_serves_no_metrics_and_adds_no_trace_context() -> None:
    app = client(BINKS_TELEMETRY="off")
    answer = review(app, "e", **{"ce-traceparent": EVENT_TRACE})
    assert answer.status_code == 200
    assert "ce-traceparent" not in answer.headers, answer.headers
    assert app.get("/metrics").status_code == 404

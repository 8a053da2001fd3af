"""Process faults on loopback, with real function processes behind the real platform:
an instance killed with SIGKILL mid-request, a function hanging past its Service's
``timeoutSeconds``, a model server that refuses connections."""

from __future__ import annotations

import base64
import json
import os
import signal
from pathlib import Path

import pytest

from modelserver.scripted import ScriptedOllama, review_script
from tests.localknative.conftest import BROKER, Platform

pytestmark = [pytest.mark.faults, pytest.mark.process]

ANSWER = {"summary": "scripted", "findings": []}
REQUESTED, COMPLETED = "dev.binks.review.requested", "dev.binks.review.completed"
SERVICE = """
---
apiVersion: serving.knative.dev/v1
kind: Service
metadata: {{name: code-reviewer-agno, namespace: default}}
spec:
  template:
    metadata:
      annotations:
        autoscaling.knative.dev/initial-scale: "{initial}"
        autoscaling.knative.dev/max-scale: "1"
    spec:
      containerConcurrency: 4
      timeoutSeconds: {timeout}
      containers:
        - image: example.org/binks/code-reviewer-agno:test
---
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata: {{name: code-reviewer-agno, namespace: default}}
spec:
  broker: default
  filters: [{{exact: {{type: dev.binks.review.requested}}}}]
  subscriber:
    ref: {{apiVersion: serving.knative.dev/v1, kind: Service, name: code-reviewer-agno}}
"""


def manifest(dead_letters: str, retry: int = 3, timeout: int = 120, initial: int = 0) -> str:
    delivery = (
        f"{{retry: {retry}, backoffPolicy: linear, backoffDelay: PT0.2S, "
        f"deadLetterSink: {{uri: '{dead_letters}'}}}}"
    )
    return BROKER.format(delivery=delivery) + SERVICE.format(timeout=timeout, initial=initial)


def review_headers(event_id: str, task: str) -> dict[str, str]:
    return {
        "ce-specversion": "1.0",
        "ce-id": event_id,
        "ce-source": "/faults",
        "ce-type": REQUESTED,
        "ce-binkstask": task,
        "content-type": "application/json",
    }


def kill_instance(platform: Platform) -> int:
    """SIGKILL every process of the one running instance."""
    (instance,) = platform.ps()["code-reviewer-agno"]["instances"]
    pids = [instance["pid"]]
    for pid in list(pids):
        children = Path(f"/proc/{pid}/task/{pid}/children")
        if children.exists():
            pids += [int(child) for child in children.read_text().split()]
    for pid in pids:
        os.kill(pid, signal.SIGKILL)
    return instance["pid"]


def replies(platform: Platform, task: str) -> list[dict]:
    return [e for e in platform.events(COMPLETED) if e["attributes"].get("binkstask") == task]


def test_sigkill_mid_request_is_redelivered_handled_once_and_the_instance_restarts(
    platform_factory, subscribers
) -> None:
    dead = subscribers()
    with ScriptedOllama(review_script(ANSWER), latency_s=0.5) as model:
        platform = platform_factory(manifest(dead.url), env={"OLLAMA_HOST": model.url})
        body = json.dumps({"repository": "sample-repo"}).encode()
        headers = review_headers("kill-1", "task-kill")
        assert platform.post("/default/default", body, headers)[0] == 202
        platform.wait(lambda: model.requests, timeout_s=60, what="the agent run to start")
        killed = kill_instance(platform)  # mid-request: the model has been asked, no reply yet

        (reply,) = platform.wait(lambda: replies(platform, "task-kill"), 90, "the reply")
        row = platform.ps()["code-reviewer-agno"]
        assert row["restarts"] == 1 and [i["pid"] for i in row["instances"]] != [killed]
        (request,) = platform.events(REQUESTED)
        (delivery,) = request["deliveries"]
        assert delivery["state"] == "delivered" and delivery["attempts"] >= 2
        assert dead.received == []

        # the same event again after another SIGKILL: answered from the persistent
        # idempotency store by a fresh instance, not run again, same reply id
        asked = len(model.requests)
        kill_instance(platform)
        assert platform.post("/default/default", body, headers)[0] == 202
        again = platform.wait(
            lambda: len(replies(platform, "task-kill")) == 2 and replies(platform, "task-kill"),
            90,
            "the duplicate's reply",
        )
        assert len(model.requests) == asked
        assert again[1]["attributes"]["id"] == reply["attributes"]["id"]
        assert platform.ps()["code-reviewer-agno"]["restarts"] == 2


def test_a_function_hanging_past_timeout_seconds_is_retried_then_dead_lettered(
    platform_factory, subscribers, hanging_model
) -> None:
    dead = subscribers()
    env = {"OLLAMA_HOST": hanging_model.url, "BINKS_MODEL_TIMEOUT": "60"}
    # one warm instance, so the 2 s go to the request, not to the cold start
    platform = platform_factory(manifest(dead.url, retry=1, timeout=2, initial=1), env=env)
    platform.wait(lambda: platform.ps()["code-reviewer-agno"]["instances"], 60, "a warm instance")
    status, event_id = platform.send(REQUESTED, {"repository": "sample-repo"})
    assert status == 202
    platform.wait(lambda: dead.received, timeout_s=60, what="the dead letter")
    letter = {k.lower(): v for k, v in dead.received[0].headers.items()}
    assert letter["ce-id"] == event_id
    assert letter["ce-knativeerrorcode"] == "504"
    assert b"request timeout" in base64.b64decode(letter["ce-knativeerrordata"])
    assert letter["ce-knativeerrordest"] == "service:default/code-reviewer-agno"
    (request,) = platform.events(REQUESTED)
    assert request["deliveries"][0]["state"] == "failed"
    assert request["deliveries"][0]["attempts"] == 2  # one try, one retry
    assert len(hanging_model.connections) == 2  # each try reached the model and hung there


def test_a_model_that_refuses_connections_ends_in_the_dead_letter_sink(
    platform_factory, subscribers, closed_port
) -> None:
    dead = subscribers()
    closed = f"http://127.0.0.1:{closed_port.getsockname()[1]}"  # connection refused
    platform = platform_factory(manifest(dead.url, retry=1), env={"OLLAMA_HOST": closed})
    status, event_id = platform.send(REQUESTED, {"repository": "sample-repo"})
    assert status == 202
    platform.wait(lambda: dead.received, timeout_s=60, what="the dead letter")
    letter = {k.lower(): v for k, v in dead.received[0].headers.items()}
    assert letter["ce-id"] == event_id and letter["ce-knativeerrorcode"] == "503"
    reason = json.loads(base64.b64decode(letter["ce-knativeerrordata"]))
    assert reason["error"] == "model_unavailable"
    assert platform.events(COMPLETED) == []

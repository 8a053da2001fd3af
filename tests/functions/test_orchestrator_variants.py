"""Both orchestrator variants as real processes, against the scripted model: the reply
is the first work event, the others reach K_SINK, all in this variant's chain."""

from __future__ import annotations

import json
import threading
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from events import CLUSTER_INSPECT_REQUESTED, REVIEW_REQUESTED, TASK_PLANNED, VARIANTS
from localknative.instances import FunctionProcess, FunctionSpec
from modelserver.scripted import ScriptedOllama, team_script

pytestmark = pytest.mark.process

PLAN = {
    "review": True,
    "focus": "injection",
    "inspect": True,
    "question": "crash loops?",
    "check": False,
}


@pytest.fixture
def sink():
    received: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args) -> None:
            pass

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers["Content-Length"]))
            received.append({k.lower(): v for k, v in self.headers.items()})
            self.send_response(202)
            self.send_header("Content-Length", "0")
            self.end_headers()

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/default/default", received
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("variant", VARIANTS)
def test_orchestrator_publishes_its_chain(variant: str, sink) -> None:
    sink_url, received = sink
    with ScriptedOllama(team_script({"You plan work": PLAN})) as model:
        env = {"OLLAMA_HOST": model.url, "K_SINK": sink_url}
        with FunctionProcess(FunctionSpec("orchestrator", variant), env=env) as instance:
            instance.wait_ready()
            headers = {
                "ce-specversion": "1.0",
                "ce-id": "goal-1",
                "ce-source": "/t",
                "ce-type": "dev.binks.task.requested",
                "ce-binkstask": "task-7",
                "content-type": "application/json",
            }
            body = {
                "goal": "review and inspect",
                "repository": "sample-repo",
                "namespace": "default",
            }
            request = urllib.request.Request(instance.url, json.dumps(body).encode(), headers)
            with urllib.request.urlopen(request, timeout=120) as answer:
                reply = {k.lower(): v for k, v in answer.headers.items()}
                data = json.loads(answer.read())
    assert reply["ce-type"] == REVIEW_REQUESTED and reply["ce-binksvariant"] == variant
    assert data == {"repository": "sample-repo", "focus": "injection"}
    assert [h["ce-type"] for h in received] == [CLUSTER_INSPECT_REQUESTED, TASK_PLANNED]
    assert {h["ce-binkstask"] for h in received} == {"task-7"}
    assert {h["ce-binksvariant"] for h in received} == {variant}

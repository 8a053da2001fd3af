"""Both variants as real processes on real ports, against a scripted Ollama-API server.

Each variant runs from its own environment (``.venvs/<variant>``) under ``shared.runtime.serve``,
exactly as ``make run`` starts it; the real framework calls the scripted server,
runs the real tools, and the reply must carry the findings the script produced.
"""

from __future__ import annotations

import json
import threading
import urllib.request
from collections.abc import Iterator

import pytest

from binks.demo import send_review
from events import VARIANTS
from functions.code_reviewer.role import INSTRUCTIONS
from localknative.instances import FunctionProcess, FunctionSpec
from modelserver.scripted import ScriptedOllama, Turn, review_script

pytestmark = pytest.mark.process

SCRIPTED_ANSWER = {
    "summary": "Scripted for the variant tests.",
    "findings": [
        {"path": "inventory.py", "line": 15, "severity": "critical", "message": "SQL injection"},
        {"path": "pricing.py", "line": 12, "severity": "high", "message": "skips the first price"},
    ],
}
ENDPOINT = {"agno": "/api/chat", "crewai": "/v1/chat/completions"}


@pytest.fixture(scope="module")
def model() -> Iterator[ScriptedOllama]:
    with ScriptedOllama(review_script(SCRIPTED_ANSWER)) as server:
        yield server


def spawn(variant: str, ollama_host: str, **env: str) -> FunctionProcess:
    spec = FunctionSpec("code_reviewer", variant)
    instance = FunctionProcess(spec, env={"OLLAMA_HOST": ollama_host, **env}).start()
    instance.wait_ready()
    return instance


@pytest.fixture(scope="module", params=VARIANTS)
def function(request: pytest.FixtureRequest, model: ScriptedOllama) -> Iterator[FunctionProcess]:
    instance = spawn(request.param, model.url)
    yield instance
    assert instance.stop() == 0


@pytest.fixture(scope="module")
def reviewed(function: FunctionProcess, model: ScriptedOllama) -> dict:
    """One review request per variant; what came back and what the model saw."""
    before = len(model.requests)
    status, headers, data = send_review(function.url, "sample-repo", "task-variants")
    return {
        "status": status,
        "headers": {k.lower(): v for k, v in headers.items()},
        "data": data,
        "model_requests": model.requests[before:],
    }


def test_reply_carries_the_scripted_findings(function: FunctionProcess, reviewed: dict) -> None:
    variant = function.spec.variant
    assert reviewed["status"] == 200
    assert reviewed["headers"]["ce-type"] == "dev.binks.review.completed"
    assert reviewed["headers"]["ce-binksvariant"] == variant
    assert reviewed["headers"]["ce-binkstask"] == "task-variants"
    assert reviewed["headers"]["ce-source"] == f"/binks/functions/code-reviewer-{variant}"
    assert reviewed["data"]["findings"] == SCRIPTED_ANSWER["findings"]
    assert reviewed["data"]["summary"] == SCRIPTED_ANSWER["summary"]
    assert reviewed["data"]["variant"] == variant


def test_framework_calls_its_documented_endpoint(function: FunctionProcess, reviewed: dict) -> None:
    paths = {r["path"] for r in reviewed["model_requests"]}
    assert paths == {ENDPOINT[function.spec.variant]}
    assert len(reviewed["model_requests"]) == 3  # list_files, read_file, final answer


def test_model_gets_the_role_instructions_and_tools(reviewed: dict) -> None:
    first = reviewed["model_requests"][0]["body"]
    system = " ".join(str(m.get("content")) for m in first["messages"] if m["role"] == "system")
    assert INSTRUCTIONS.splitlines()[0] in system
    offered = {tool["function"]["name"] for tool in first["tools"]}
    assert offered == {"list_files", "read_file", "search_text"}


def test_real_tools_ran_inside_the_repository(reviewed: dict) -> None:
    last = reviewed["model_requests"][-1]["body"]["messages"]
    results = [str(m.get("content")) for m in last if m["role"] == "tool"]
    assert "inventory.py" in results[0] and "pricing.py" in results[0]
    assert "def add(self, sku, quantity, tags=[]):" in results[1]  # read_file's real output


def test_health_and_bad_input_over_real_http(function: FunctionProcess) -> None:
    with urllib.request.urlopen(function.url + "/health/liveness") as answer:
        assert answer.status == 200
    request = urllib.request.Request(
        function.url, b'{"message": "Hello World"}', {"Content-Type": "application/json"}
    )
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(request)
    assert caught.value.code == 400
    assert json.loads(caught.value.read())["error"] == "invalid_data"


@pytest.mark.parametrize("variant", VARIANTS)
def test_model_down_answers_503_so_the_broker_retries(variant: str, closed_port) -> None:
    instance = spawn(variant, f"http://127.0.0.1:{closed_port.getsockname()[1]}")
    try:
        status, _, data = send_review(instance.url, "sample-repo", "task-down")
    finally:
        instance.stop()
    assert status == 503
    assert data["error"] == "model_unavailable"


@pytest.mark.parametrize("variant", VARIANTS)
def test_sigterm_drains_the_event_in_flight(variant: str) -> None:
    asked = threading.Event()  # set when the model has been asked: the event is in the run
    review = review_script(SCRIPTED_ANSWER)

    def script(messages: list, tools: list) -> Turn:
        asked.set()
        return review(messages, tools)

    with ScriptedOllama(script, latency_s=0.5) as slow:
        instance = spawn(variant, slow.url)
        answers: list[tuple] = []
        sender = threading.Thread(
            target=lambda: answers.append(send_review(instance.url, "sample-repo", "t"))
        )
        sender.start()
        assert asked.wait(60), "the model was never asked"
        exit_code = instance.stop()
        sender.join(30)
    assert exit_code == 0
    assert answers and answers[0][0] == 200
    assert answers[0][2]["findings"] == SCRIPTED_ANSWER["findings"]

"""The scripted Ollama-API server speaks both wire formats the frameworks use."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest

from modelserver.scripted import ScriptedOllama, Turn, review_script, route, team_script

TOOLS = [{"type": "function", "function": {"name": "list_files"}}]


def post(url: str, body: dict) -> tuple[str, bytes]:
    request = urllib.request.Request(url, json.dumps(body).encode(), method="POST")
    with urllib.request.urlopen(request) as answer:
        return answer.headers["Content-Type"], answer.read()


@pytest.fixture
def server():
    with ScriptedOllama(review_script({"summary": "s", "findings": []})) as running:
        yield running


def test_version_and_tags(server: ScriptedOllama) -> None:
    with urllib.request.urlopen(server.url + "/api/version") as answer:
        assert json.load(answer)["version"]
    with urllib.request.urlopen(server.url + "/api/tags") as answer:
        assert json.load(answer)["models"][0]["name"] == server.model


def test_ollama_chat_tool_call_then_answer(server: ScriptedOllama) -> None:
    body = {"model": "m", "messages": [{"role": "user", "content": "hi"}], "tools": TOOLS}
    _, raw = post(server.url + "/api/chat", {**body, "stream": False})
    reply = json.loads(raw)
    assert reply["done"] is True and reply["eval_count"] >= 1
    assert reply["message"]["tool_calls"][0]["function"]["name"] == "list_files"
    messages = [*body["messages"], {"role": "tool", "content": "README.md"}]
    _, raw = post(server.url + "/api/chat", {**body, "messages": messages, "stream": False})
    assert json.loads(json.loads(raw)["message"]["content"]) == {"summary": "s", "findings": []}


def test_ollama_chat_streams_ndjson_ending_with_done(server: ScriptedOllama) -> None:
    content_type, raw = post(server.url + "/api/chat", {"model": "m", "messages": []})
    chunks = [json.loads(line) for line in raw.decode().splitlines()]
    assert content_type == "application/x-ndjson"
    assert [c["done"] for c in chunks] == [False, True]
    assert "total_duration" in chunks[-1]


def test_openai_chat_completions_tool_call_and_stream(server: ScriptedOllama) -> None:
    body = {"model": "m", "messages": [{"role": "user", "content": "hi"}], "tools": TOOLS}
    _, raw = post(server.url + "/v1/chat/completions", body)
    choice = json.loads(raw)["choices"][0]
    assert choice["finish_reason"] == "tool_calls"
    assert json.loads(choice["message"]["tool_calls"][0]["function"]["arguments"]) == {
        "directory": "."
    }
    content_type, raw = post(server.url + "/v1/chat/completions", {**body, "stream": True})
    assert content_type == "text/event-stream"
    assert raw.decode().rstrip().endswith("data: [DONE]")


def test_every_request_is_recorded() -> None:
    with ScriptedOllama(lambda messages, tools: Turn(content="ok")) as server:
        post(server.url + "/api/chat", {"model": "m", "messages": [], "stream": False})
        assert server.calls("/api/chat") == [{"model": "m", "messages": [], "stream": False}]


def say(text: str):
    return lambda messages, tools: Turn(content=text)


def content(raw: bytes) -> str:
    return json.loads(raw)["message"]["content"]


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/api/chat", (None, "/api/chat")),
        ("/v1/chat/completions", (None, "/v1/chat/completions")),
        ("/", (None, "/")),
        ("/code-reviewer-agno/api/chat", ("code-reviewer-agno", "/api/chat")),
        ("/reporter/v1/chat/completions?x=1", ("reporter", "/v1/chat/completions")),
        ("/%24%28K_SERVICE%29/api/version", ("$(K_SERVICE)", "/api/version")),
    ],
)
def test_route_splits_the_caller_from_the_endpoint(path: str, expected: tuple) -> None:
    assert route(path) == expected


def test_a_team_answers_each_caller_by_its_path_not_its_prompt() -> None:
    team = team_script({"code-reviewer": say("review"), "reporter": say("report")})
    with ScriptedOllama(team) as server:
        body = {"model": "m", "messages": [{"role": "system", "content": "reporter"}]}
        for caller, expected in (("code-reviewer-agno", "review"), ("reporter-crewai", "report")):
            _, raw = post(server.url_for(caller) + "/api/chat", {**body, "stream": False})
            assert content(raw) == expected
        _, raw = post(server.url_for("code-reviewer") + "/v1/chat/completions", body)
        assert json.loads(raw)["choices"][0]["message"]["content"] == "review"
        assert len(server.calls("/api/chat")) == 2
        assert len(server.calls("/api/chat", caller="reporter-crewai")) == 1
        with urllib.request.urlopen(server.url_for("reporter-agno") + "/api/version") as answer:
            assert json.load(answer)["version"]


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("/poet-agno/api/chat", "no script for 'poet-agno'"),
        ("/code-reviewer-gpt/api/chat", "no script for 'code-reviewer-gpt'"),  # not a variant
        ("/api/chat", "needs the caller in the path"),
    ],
)
def test_a_caller_without_a_script_is_a_404_that_says_why(path: str, reason: str) -> None:
    team = team_script({"code-reviewer": say("review"), "reporter": say("report")})
    with ScriptedOllama(team) as server, pytest.raises(urllib.error.HTTPError) as refused:
        post(server.url + path, {"model": "m", "messages": [], "stream": False})
    assert refused.value.code == 404
    assert reason in json.load(refused.value)["error"]


def test_a_team_of_one_answers_without_a_caller() -> None:
    with ScriptedOllama(team_script({"anyone": {"summary": "s", "findings": []}})) as server:
        _, raw = post(server.url + "/api/chat", {"model": "m", "messages": [], "stream": False})
        assert json.loads(content(raw)) == {"summary": "s", "findings": []}


def test_url_per_service_names_the_platforms_reference() -> None:
    with ScriptedOllama(say("x")) as server:
        assert server.url_per_service == server.url + "/$(K_SERVICE)"

"""The scripted Ollama-API server speaks both wire formats the frameworks use."""

from __future__ import annotations

import json
import urllib.request

import pytest

from modelserver.scripted import ScriptedOllama, Turn, review_script

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

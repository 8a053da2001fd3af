"""The embedded model server, with the real model, through the official ``ollama``
client, plain HTTP and the OpenAI-compatible route. Prompts are short and bounded;
temperature 0 and a seed make answers repeatable."""

from __future__ import annotations

import json
import socket
import threading
import time
import urllib.error
import urllib.request

import ollama
import pytest
from jsonschema import validate

pytestmark = pytest.mark.model

MODEL = "gemma3:270m"
OPTIONS = {"temperature": 0, "seed": 42, "num_predict": 16}
READ_FILE = {
    "type": "function",
    "function": {
        "name": "read_file",
        "description": "Read a file of the repository.",
        "parameters": {
            "type": "object",
            "properties": {"path": {"type": "string", "description": "file path"}},
            "required": ["path"],
        },
    },
}
FINDINGS = {
    "type": "object",
    "properties": {
        "summary": {"type": "string", "maxLength": 60},
        "findings": {
            "type": "array",
            "maxItems": 2,
            "items": {
                "type": "object",
                "properties": {
                    "line": {"type": "integer", "minimum": 1, "maximum": 999},
                    "severity": {"enum": ["high", "low"]},
                },
                "required": ["line", "severity"],
            },
        },
    },
    "required": ["summary", "findings"],
}


@pytest.fixture(scope="module")
def client(embedded_model) -> ollama.Client:
    return ollama.Client(host=embedded_model.url)


def post(url: str, body: bytes | dict) -> tuple[int, dict]:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    try:
        with urllib.request.urlopen(urllib.request.Request(url, data, method="POST")) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_list_show_and_ps_describe_the_model(client: ollama.Client) -> None:
    listed = client.list().models
    assert [m.model for m in listed] == [MODEL]
    assert listed[0].details.quantization_level == "Q4_K_M" and listed[0].size > 200_000_000
    shown = client.show(MODEL)
    assert shown.details.family == "gemma3" and "tools" in shown.capabilities
    assert [m.model for m in client.ps().models] == [MODEL]


def test_chat_is_repeatable_with_a_seed_and_reports_stats(client: ollama.Client) -> None:
    messages = [{"role": "user", "content": "Name a colour."}]
    first = client.chat(MODEL, messages=messages, options=OPTIONS)
    again = client.chat(MODEL, messages=messages, options=OPTIONS)
    assert first.message.content and first.message.content == again.message.content
    assert first.done and first.eval_count == 16 and first.done_reason == "length"
    assert first.prompt_eval_count > 0 and first.total_duration > first.eval_duration > 0


def test_chat_streams_ndjson_ending_with_done(client: ollama.Client) -> None:
    parts = list(
        client.chat(
            MODEL, messages=[{"role": "user", "content": "Hi"}], options=OPTIONS, stream=True
        )
    )
    assert [p.done for p in parts][-1] is True and not any(p.done for p in parts[:-1])
    assert parts[-1].eval_count == 16
    assert "".join(p.message.content for p in parts)


def test_format_schema_gives_valid_bounded_json(client: ollama.Client) -> None:
    answer = client.chat(
        MODEL,
        messages=[{"role": "user", "content": "Review: x = 1/0"}],
        format=FINDINGS,
        options={**OPTIONS, "num_predict": 300},
    )
    validate(json.loads(answer.message.content), FINDINGS)


def test_format_json_gives_an_object(client: ollama.Client) -> None:
    answer = client.generate(
        MODEL, "A JSON object:", format="json", options={**OPTIONS, "num_predict": 400}
    )
    assert isinstance(json.loads(answer.response), dict)


def test_tools_give_a_valid_tool_call(client: ollama.Client) -> None:
    answer = client.chat(
        MODEL,
        messages=[{"role": "user", "content": "Read the file app.py"}],
        tools=[READ_FILE],
        options={**OPTIONS, "num_predict": 100},
    )
    calls = answer.message.tool_calls
    assert calls and calls[0].function.name == "read_file"
    assert isinstance(calls[0].function.arguments["path"], str)


def test_generate_streams_and_loads(client: ollama.Client) -> None:
    parts = list(client.generate(MODEL, "Once upon a time", options=OPTIONS, stream=True))
    assert parts[-1].done and "".join(p.response for p in parts)
    loaded = client.generate(MODEL, "")
    assert loaded.done and loaded.done_reason == "load"


def test_unknown_model_is_404_as_ollama_says(client: ollama.Client, embedded_model) -> None:
    with pytest.raises(ollama.ResponseError) as caught:
        client.chat("llama9:1t", messages=[{"role": "user", "content": "hi"}])
    assert caught.value.status_code == 404
    status, body = post(embedded_model.url + "/api/show", {"model": "llama9:1t"})
    assert (status, body) == (404, {"error": "model 'llama9:1t' not found"})


@pytest.mark.parametrize(
    ("path", "body", "reason"),
    [
        ("/api/chat", b"{not json", "invalid JSON"),
        ("/api/chat", {"messages": []}, "model is required"),
        ("/api/chat", {"model": MODEL, "messages": "hi"}, "messages must be a list"),
        ("/api/generate", {"model": MODEL, "prompt": "x", "format": "yaml"}, "format must be"),
        (
            "/api/chat",
            {
                "model": MODEL,
                "messages": [{"role": "user", "content": "x"}],
                "options": {"num_predict": "lots"},
            },
            "num_predict",
        ),
    ],
)
def test_bad_requests_are_400_with_a_reason(embedded_model, path, body, reason) -> None:
    status, answer = post(embedded_model.url + path, body)
    assert status == 400 and reason in answer["error"]


def test_openai_chat_completions_text_tools_and_stream(embedded_model) -> None:
    url = embedded_model.url + "/v1/chat/completions"
    base = {"model": MODEL, "temperature": 0, "seed": 42, "max_tokens": 100}
    status, answer = post(url, {**base, "messages": [{"role": "user", "content": "Hi"}]})
    assert status == 200 and answer["object"] == "chat.completion"
    assert answer["usage"]["completion_tokens"] > 0
    status, answer = post(
        url,
        {**base, "messages": [{"role": "user", "content": "Read app.py"}], "tools": [READ_FILE]},
    )
    call = answer["choices"][0]["message"]["tool_calls"][0]
    assert answer["choices"][0]["finish_reason"] == "tool_calls"
    assert call["function"]["name"] == "read_file" and json.loads(call["function"]["arguments"])
    request = urllib.request.Request(
        url,
        json.dumps(
            {**base, "stream": True, "messages": [{"role": "user", "content": "Hi"}]}
        ).encode(),
    )
    with urllib.request.urlopen(request) as streamed:
        events = streamed.read().decode().strip().split("\n\n")
    assert events[-1] == "data: [DONE]"
    assert json.loads(events[-2][6:])["choices"][0]["finish_reason"] in ("stop", "length")
    status, models = 200, json.load(urllib.request.urlopen(embedded_model.url + "/v1/models"))
    assert models["data"][0]["id"] == MODEL


def test_openai_unknown_model_has_openai_error_shape(embedded_model) -> None:
    status, answer = post(
        embedded_model.url + "/v1/chat/completions",
        {"model": "x", "messages": [{"role": "user", "content": "hi"}]},
    )
    assert status == 404 and answer["error"]["message"] == "model 'x' not found"


def test_concurrent_requests_share_the_slots(client: ollama.Client) -> None:
    answers: list[str] = []

    def ask(colour: str) -> None:
        reply = client.chat(MODEL, messages=[{"role": "user", "content": colour}], options=OPTIONS)
        answers.append(reply.message.content)

    threads = [threading.Thread(target=ask, args=(c,)) for c in ("Red", "Blue", "Green")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert len(answers) == 3 and all(answers)


def test_client_leaving_mid_stream_frees_its_slot(embedded_model, client) -> None:
    host, port = embedded_model.url.removeprefix("http://").split(":")
    body = json.dumps(
        {
            "model": MODEL,
            "messages": [{"role": "user", "content": "Tell a story"}],
            "options": {"num_predict": 2000},
        }
    ).encode()
    with socket.create_connection((host, int(port))) as raw:
        raw.sendall(
            b"POST /api/chat HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            + f"Content-Length: {len(body)}\r\n\r\n".encode()
            + body
        )
        assert b"200 OK" in raw.recv(4096)  # headers and the first tokens
    deadline = time.monotonic() + 30
    while "cancelled" not in embedded_model.log_path.read_text() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert "client went away" in embedded_model.log_path.read_text()
    assert client.chat(MODEL, messages=[{"role": "user", "content": "Hi"}], options=OPTIONS).done

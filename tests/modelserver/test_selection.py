"""Which Ollama API is used: OLLAMA_HOST if it answers, else the embedded server."""

from __future__ import annotations

from modelserver.scripted import ScriptedOllama, Turn
from modelserver.selection import ModelServer, answers, passed_through, select


def test_an_answering_ollama_host_is_used_as_is() -> None:
    with ScriptedOllama(lambda messages, tools: Turn(content="ok")) as ollama:
        host = ollama.url.removeprefix("http://")  # Ollama's own host:port form
        chosen = select({"OLLAMA_HOST": host})
        assert (chosen.url, chosen.embedded, chosen.process) == (ollama.url, False, None)


def test_nothing_answering_means_nothing_answers() -> None:
    assert not answers("http://127.0.0.1:9", timeout_s=0.5)


def test_the_functions_use_the_embedded_model_with_structured_answers() -> None:
    env = ModelServer("http://127.0.0.1:1", embedded=True).functions_env({"BINKS_MODEL": "big"})
    assert env == {
        "OLLAMA_HOST": "http://127.0.0.1:1",
        "BINKS_MODEL": "gemma3:270m",
        "BINKS_STRUCTURED_ANSWER": "true",
    }


def test_the_functions_use_ollama_with_binks_model() -> None:
    ollama = ModelServer("http://127.0.0.1:11434", embedded=False)
    assert ollama.functions_env({}) == {
        "OLLAMA_HOST": "http://127.0.0.1:11434",
        "BINKS_MODEL": "gemma3:270m",
    }
    assert ollama.functions_env({"BINKS_MODEL": "qwen2.5-coder:7b"})["BINKS_MODEL"] == (
        "qwen2.5-coder:7b"
    )


def test_passed_through_takes_the_model_settings_only() -> None:
    env = {"OLLAMA_HOST": "h", "BINKS_STRUCTURED_ANSWER": "true", "K_SINK": "s", "PATH": "/bin"}
    assert passed_through(env) == {"OLLAMA_HOST": "h", "BINKS_STRUCTURED_ANSWER": "true"}

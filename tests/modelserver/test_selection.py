"""Which Ollama API is used: OLLAMA_HOST if it answers, else the embedded server."""

from __future__ import annotations

from modelserver.scripted import ScriptedOllama, Turn
from modelserver.selection import answers, select


def test_an_answering_ollama_host_is_used_as_is() -> None:
    with ScriptedOllama(lambda messages, tools: Turn(content="ok")) as ollama:
        host = ollama.url.removeprefix("http://")  # Ollama's own host:port form
        chosen = select({"OLLAMA_HOST": host})
        assert (chosen.url, chosen.embedded, chosen.process) == (ollama.url, False, None)


def test_nothing_answering_means_nothing_answers() -> None:
    assert not answers("http://127.0.0.1:9", timeout_s=0.5)

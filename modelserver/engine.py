"""The inference engine: llama.cpp's server core, in process, through xllamacpp.

Requests and results are OpenAI chat-completion dicts (what llama.cpp speaks);
the API modules translate Ollama's shapes to and from them. Slots give fair,
concurrent service: ``parallel`` requests decode together, the rest queue FIFO
inside llama.cpp. A streaming consumer that goes away cancels its generation at
the next token, which frees its slot.
"""

from __future__ import annotations

import queue
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Protocol

from modelserver.prompting import GEMMA_TEMPLATE
from modelserver.weights import ModelCard


class EngineError(RuntimeError):
    """llama.cpp refused or failed a request; ``status`` is the HTTP status to answer."""

    def __init__(self, message: str, status: int = 500) -> None:
        super().__init__(message)
        self.status = status


class Engine(Protocol):
    card: ModelCard
    load_seconds: float

    def complete(self, request: dict[str, Any]) -> dict[str, Any]: ...

    def stream(self, request: dict[str, Any]) -> Iterator[dict[str, Any]]: ...


@dataclass(frozen=True)
class EngineSettings:
    parallel: int = 2
    context_per_slot: int = 8192
    threads: int = 2


_END = object()


class LlamaEngine:
    """One model loaded once; thread-safe (llama.cpp queues the tasks)."""

    def __init__(self, card: ModelCard, settings: EngineSettings = EngineSettings()) -> None:
        import xllamacpp

        params = xllamacpp.CommonParams()
        params.model.path = str(card.path)
        params.n_parallel = settings.parallel
        params.n_ctx = settings.context_per_slot * settings.parallel
        params.cpuparams.n_threads = settings.threads
        params.cpuparams_batch.n_threads = settings.threads
        params.use_jinja = True
        params.chat_template = GEMMA_TEMPLATE  # the GGUF carries none: a base model
        params.warmup = False
        params.verbosity = -1
        params.port = 0  # llama.cpp's own listener: an ephemeral loopback port we never use
        started = time.monotonic()
        self._server = xllamacpp.Server(params)
        self.load_seconds = time.monotonic() - started
        self.card = card
        self.cancelled = 0  # generations stopped because their client left

    def complete(self, request: dict[str, Any]) -> dict[str, Any]:
        result = self._server.handle_chat_completions({**request, "stream": False})
        _raise_for_error(result)
        return result

    def stream(self, request: dict[str, Any]) -> Iterator[dict[str, Any]]:
        chunks: queue.Queue[Any] = queue.Queue()
        gone = threading.Event()

        def deliver(chunk: dict[str, Any]) -> bool:
            if gone.is_set():
                self.cancelled += 1
                print(
                    '{"msg": "cancelled", "reason": "client went away"}',
                    file=sys.stderr,
                    flush=True,
                )
                return True  # tells llama.cpp to stop this task and free its slot
            chunks.put(chunk)
            return False

        def work() -> None:
            try:
                self._server.handle_chat_completions({**request, "stream": True}, deliver)
            except Exception as error:  # surfaced to the consumer below
                chunks.put(EngineError(str(error)))
            finally:
                chunks.put(_END)

        threading.Thread(target=work, name="llama-stream", daemon=True).start()
        try:
            while (item := chunks.get()) is not _END:
                if isinstance(item, EngineError):
                    raise item
                _raise_for_error(item)
                yield item
        finally:
            gone.set()


def _raise_for_error(result: dict[str, Any]) -> None:
    error = result.get("error") if "choices" not in result else None
    if error is None and "code" in result and "message" in result:
        error = result
    if error:
        message = error.get("message", str(error)) if isinstance(error, dict) else str(error)
        code = error.get("code", 500) if isinstance(error, dict) else 500
        raise EngineError(message, code if isinstance(code, int) and 400 <= code < 600 else 500)

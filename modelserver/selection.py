"""Which Ollama API the functions use: ``OLLAMA_HOST`` if it answers, else the embedded one,
and the settings that point the functions at it. ``binks up`` (``python -m localknative``),
``binks demo`` and the bench all choose here."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass

from shared.defaults import DEFAULT_MODEL, DEFAULT_OLLAMA_HOST, normalise_ollama_host
from shared.listen import LOOPBACK, bind_listener, child_env, port_of

#: The model the embedded server serves.
EMBEDDED_MODEL = DEFAULT_MODEL
#: The functions' model settings (what ``--model none`` passes through).
MODEL_VARIABLES = ("OLLAMA_HOST", "BINKS_MODEL", "BINKS_STRUCTURED_ANSWER")


def answers(url: str, timeout_s: float = 2.0) -> bool:
    """True if an Ollama API server answers ``/api/version`` at ``url``."""
    try:
        with urllib.request.urlopen(url + "/api/version", timeout=timeout_s) as reply:
            return reply.status == 200
    except (urllib.error.URLError, OSError, ValueError):
        return False


@dataclass
class ModelServer:
    """The Ollama API in use; ``process`` is set when we started the embedded one."""

    url: str
    embedded: bool
    process: subprocess.Popen[bytes] | None = None

    def functions_env(self, env: Mapping[str, str] = os.environ) -> dict[str, str]:
        """The settings that point a function at this server: for the embedded one its
        model, with structured answers (it combines them with tool calls); for Ollama
        ``BINKS_MODEL`` from ``env`` (default ``gemma3:270m``)."""
        if self.embedded:
            return {
                "OLLAMA_HOST": self.url,
                "BINKS_MODEL": EMBEDDED_MODEL,
                "BINKS_STRUCTURED_ANSWER": "true",
            }
        return {"OLLAMA_HOST": self.url, "BINKS_MODEL": env.get("BINKS_MODEL") or DEFAULT_MODEL}

    def stop(self) -> None:
        """SIGTERM the embedded server if we started it (SIGKILL after 20 s)."""
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def __enter__(self) -> ModelServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_embedded(port: int = 0, timeout_s: float = 180.0, log: int | None = None) -> ModelServer:
    """Start ``python -m modelserver`` on 127.0.0.1:``port`` (0: any free port) and wait
    until it answers. The socket is bound here and handed over (``shared.listen``)."""
    listener = bind_listener(LOOPBACK, port)
    url = f"http://127.0.0.1:{port_of(listener)}"
    command = [sys.executable, "-m", "modelserver", "--port", str(port_of(listener))]
    try:
        process = subprocess.Popen(
            command,
            stdout=log,
            stderr=log,
            env={**os.environ, **child_env(listener)},
            pass_fds=(listener.fileno(),),
        )
    finally:
        listener.close()
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the embedded model server exited with code {process.returncode}")
        if answers(url, timeout_s=1.0):
            return ModelServer(url, embedded=True, process=process)
        time.sleep(0.1)
    process.kill()
    raise TimeoutError(f"the embedded model server did not answer within {timeout_s:.0f} s")


def select(env: Mapping[str, str] = os.environ, port: int = 0) -> ModelServer:
    """``OLLAMA_HOST`` (default 127.0.0.1:11434) if it answers; else start the embedded server."""
    wanted = normalise_ollama_host(env.get("OLLAMA_HOST", DEFAULT_OLLAMA_HOST))
    if answers(wanted):
        return ModelServer(wanted, embedded=False)
    return start_embedded(port, log=subprocess.DEVNULL)


def passed_through(env: Mapping[str, str] = os.environ) -> dict[str, str]:
    """The model settings ``env`` sets for the functions, starting nothing."""
    return {name: env[name] for name in MODEL_VARIABLES if name in env}

"""Constants more than one part of the project agrees on: the model, where the Ollama
API is by default, and the health paths a function serves and the platform probes.

Standard library only, nothing else here: a function's cold start, the model server
and the platform all import it.
"""

from __future__ import annotations

from urllib.parse import urlsplit

#: The model the functions ask for, and the one the embedded model server serves.
DEFAULT_MODEL = "gemma3:270m"
#: Where a stock Ollama listens.
DEFAULT_OLLAMA_HOST = "http://127.0.0.1:11434"
#: Knative's probes (func-python's paths): ready to take traffic, and alive.
READINESS_PATH = "/health/readiness"
LIVENESS_PATH = "/health/liveness"
#: Set by the platform for a snapshot start: the Unix socket a function waits on after
#: its imports (``shared.runtime.snapshot``, imported only then).
SNAPSHOT_FD_ENV = "BINKS_SNAPSHOT_FD"


def normalise_ollama_host(value: str) -> str:
    """Accept Ollama's own forms (``host``, ``host:port``, URL) and return a base URL."""
    value = value.strip().rstrip("/") or DEFAULT_OLLAMA_HOST
    if "://" not in value:
        value = f"http://{value}"
    parts = urlsplit(value)
    port = parts.port or (443 if parts.scheme == "https" else 11434)
    return f"{parts.scheme}://{parts.hostname}:{port}{parts.path}"

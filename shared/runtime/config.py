"""Function settings, read once from the environment (Knative's runtime contract + ours)."""

from __future__ import annotations

import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from shared.defaults import DEFAULT_MODEL, DEFAULT_OLLAMA_HOST, normalise_ollama_host

__all__ = ["DEFAULT_MODEL", "DEFAULT_OLLAMA_HOST", "Settings", "normalise_ollama_host"]

DEFAULT_MAX_BODY_BYTES = 1024 * 1024
#: Seconds one model call may take before the run fails as ``model_unavailable`` (503).
DEFAULT_MODEL_TIMEOUT_S = 120.0


@dataclass(frozen=True)
class Settings:
    """Everything a function reads from its environment."""

    service: str
    revision: str
    configuration: str
    ollama_host: str
    model: str
    workspace: Path
    max_body_bytes: int
    structured_answer: bool
    sink: str
    state_dir: Path
    model_timeout_s: float = DEFAULT_MODEL_TIMEOUT_S
    telemetry: bool = True

    @classmethod
    def from_env(cls, env: Mapping[str, str], default_service: str) -> Settings:
        """Read ``K_SERVICE``/``K_REVISION``/``K_CONFIGURATION``, ``OLLAMA_HOST``,
        ``BINKS_MODEL``, ``BINKS_REPO_BASE``, ``BINKS_MAX_BODY_BYTES``,
        ``BINKS_STRUCTURED_ANSWER``, ``K_SINK``, ``BINKS_STATE_DIR``,
        ``BINKS_MODEL_TIMEOUT`` (seconds per model call) and ``BINKS_TELEMETRY`` (off:
        ``off``, ``0``, ``false`` or ``no``)."""
        service = env.get("K_SERVICE") or default_service
        return cls(
            service=service,
            revision=env.get("K_REVISION", ""),
            configuration=env.get("K_CONFIGURATION", ""),
            ollama_host=normalise_ollama_host(env.get("OLLAMA_HOST", DEFAULT_OLLAMA_HOST)),
            model=env.get("BINKS_MODEL") or DEFAULT_MODEL,
            workspace=Path(env.get("BINKS_REPO_BASE") or Path.cwd()),
            max_body_bytes=int(env.get("BINKS_MAX_BODY_BYTES") or DEFAULT_MAX_BODY_BYTES),
            structured_answer=env.get("BINKS_STRUCTURED_ANSWER", "").lower()
            in ("1", "true", "yes"),
            sink=env.get("K_SINK", ""),
            state_dir=Path(
                env.get("BINKS_STATE_DIR") or Path(tempfile.gettempdir(), "binks-state")
            ),
            model_timeout_s=_positive(env, "BINKS_MODEL_TIMEOUT", DEFAULT_MODEL_TIMEOUT_S),
            telemetry=env.get("BINKS_TELEMETRY", "on").strip().lower()
            not in ("off", "0", "false", "no"),
        )


def _positive(env: Mapping[str, str], name: str, default: float) -> float:
    """A positive number of seconds from ``env[name]``, or ``default`` when unset."""
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"{name} must be a number of seconds, got {raw!r}") from None
    if not value > 0:
        raise ValueError(f"{name} must be positive, got {raw!r}")
    return value

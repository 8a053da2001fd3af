"""Shared fixtures. Knative and Binks variables are cleared around every test so a
developer's shell cannot change what the tests see."""

from __future__ import annotations

import pytest

_VARIABLES = (
    "PORT",
    "K_SERVICE",
    "K_REVISION",
    "K_CONFIGURATION",
    "OLLAMA_HOST",
    "BINKS_MODEL",
    "BINKS_REPO_BASE",
    "BINKS_MAX_BODY_BYTES",
    "BINKS_BIND",
)


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in _VARIABLES:
        monkeypatch.delenv(name, raising=False)

"""Shared fixtures. Knative and Binks variables are cleared around every test so a
developer's shell cannot change what the tests see."""

from __future__ import annotations

import socket
from collections.abc import Iterator

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
    "K_SINK",
    "BINKS_STRUCTURED_ANSWER",
)


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    for name in _VARIABLES:
        monkeypatch.delenv(name, raising=False)
    # each test gets its own idempotency store (functions and platforms inherit it)
    monkeypatch.setenv("BINKS_STATE_DIR", str(tmp_path / "function-state"))


@pytest.fixture(scope="session")
def embedded_model(tmp_path_factory: pytest.TempPathFactory):
    """The real embedded model server (``python -m modelserver``), started once.

    Yields the running :class:`~modelserver.selection.ModelServer`; its stderr
    (one JSON line per model turn) is at ``.log_path``.
    """
    from modelserver.selection import start_embedded

    log_path = tmp_path_factory.mktemp("modelserver") / "stderr.log"
    with log_path.open("wb") as log:
        server = start_embedded(log=log.fileno())
    server.log_path = log_path
    yield server
    server.stop()


@pytest.fixture
def closed_port() -> Iterator[socket.socket]:
    """A loopback port held for the test but not listening: connections are refused, and
    no other process can take it (hand the socket to a ``Subscriber`` to open it)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    yield sock
    sock.close()

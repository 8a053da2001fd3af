"""Fault tests reuse the real platform process and the recording subscribers of the
localknative tests, and add what only faults need: a model server that accepts
connections and never answers."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest

from tests.localknative.conftest import platform_factory, subscribers

__all__ = ["hanging_model", "platform_factory", "subscribers"]


class HangingModel:
    """A TCP server on loopback that accepts every connection, reads, never answers:
    a model server that is up but stuck (or far too slow)."""

    def __init__(self) -> None:
        self._server = socket.create_server(("127.0.0.1", 0))
        self._server.settimeout(0.2)
        self.connections: list[socket.socket] = []
        self._closed = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.getsockname()[1]}"

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                connection, _ = self._server.accept()
            except (TimeoutError, OSError):
                continue
            self.connections.append(connection)

    def close(self) -> None:
        self._closed.set()
        for connection in self.connections:
            connection.close()
        self._server.close()


@pytest.fixture
def hanging_model() -> Iterator[HangingModel]:
    model = HangingModel()
    yield model
    model.close()

"""``python -m shared.runtime.serve functions.<role>@<variant>``: one
function instance, one process, as Knative's runtime contract asks.

- Listens on ``$PORT`` (default 8080) at ``BINKS_BIND`` (default 127.0.0.1; a container
  sets 0.0.0.0), or on the socket a parent passed in ``BINKS_LISTEN_FD`` (the local
  platform binds port 0 and hands the socket over: no port race). Served by waitress, a
  production WSGI server in pure Python, with a pool of ``BINKS_THREADS`` threads
  (default 4).
- On SIGTERM (or SIGINT) it stops accepting connections, finishes every request in
  flight and flushes its answer, then exits 0; after ``BINKS_DRAIN_SECONDS`` (default
  300, Knative's default ``timeoutSeconds``) it exits anyway.

One process, not a pre-fork master and a worker: Knative scales instances, not
workers, and the second process cost every instance ~26 MiB of RSS (``binks bench``).
"""

from __future__ import annotations

import importlib
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from shared.defaults import SNAPSHOT_FD_ENV

if TYPE_CHECKING:
    import socket

LOOP_TICK_S = 0.2  # how often the drain checks whether everything is answered


def bind_address(env: Mapping[str, str] = os.environ) -> tuple[str, int]:
    """(host, port) from ``BINKS_BIND`` and ``PORT``."""
    return env.get("BINKS_BIND", "127.0.0.1"), int(env.get("PORT", "8080"))


def load_app(spec: str) -> Callable:
    """The WSGI app of ``spec``: ``functions.<role>@<variant>`` (a role package's ``ROLE``
    on a registered variant, ``shared.variants``) or ``package.module:factory``."""
    if "@" in spec:
        package, _, variant = spec.partition("@")
        if not package.replace(".", "").replace("_", "").isalnum():
            raise ValueError(f"expected functions.<role>@<variant>, got {spec!r}")
        from shared.runtime.app import create_app

        role = importlib.import_module(f"{package}.role").ROLE
        return create_app(role, variant)
    module_name, _, factory = spec.partition(":")
    if not module_name or not factory.isidentifier():
        example = "functions.code_reviewer@agno"
        raise ValueError(f"expected role@variant or module:factory, e.g. {example}, got {spec!r}")
    return getattr(importlib.import_module(module_name), factory)()


class InFlight:
    """WSGI middleware counting the requests whose answer is not finished yet."""

    def __init__(self, app: Callable) -> None:
        self.app = app
        self.active = 0
        self._lock = threading.Lock()

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        with self._lock:
            self.active += 1
        try:
            body = self.app(environ, start_response)
        except BaseException:
            self._done()
            raise
        return _Closing(body, self._done)

    def _done(self) -> None:
        with self._lock:
            self.active -= 1


class _Closing:
    """An answer body that reports when the server has closed it (fully sent)."""

    def __init__(self, body: Iterable[bytes], on_close: Callable[[], None]) -> None:
        self.body, self.on_close = body, on_close

    def __iter__(self):
        return iter(self.body)

    def close(self) -> None:
        try:
            if hasattr(self.body, "close"):
                self.body.close()
        finally:
            self.on_close()


def preload(spec: str) -> None:
    """Import everything ``load_app(spec)`` and ``serve`` will, and build nothing: what a
    snapshot start checkpoints (``shared.runtime.snapshot``). The role's module, the
    app factory, the variant's framework runner and what its framework imports only on
    a first call (the runner's ``FIRST_CALL_IMPORTS``), the HTTP server."""
    import waitress.channel  # noqa: F401  (serve's imports)

    import shared.runtime.telemetry  # noqa: F401

    if "@" in spec:
        from shared import variants

        package, _, variant = spec.partition("@")
        importlib.import_module(f"{package}.role")
        importlib.import_module("shared.runtime.app")
        runner = importlib.import_module(variants.get(variant).runner)
        for name in getattr(runner, "FIRST_CALL_IMPORTS", ()):
            importlib.import_module(name)
    else:
        importlib.import_module(spec.partition(":")[0])


def serve(
    app: Callable, env: Mapping[str, str] = os.environ, listener: socket.socket | None = None
) -> int:
    """Serve ``app`` until SIGTERM/SIGINT, then drain; the exit status. On ``listener``
    if given, else on the socket a parent passed, else on ``BINKS_BIND``:``PORT``."""
    from waitress import create_server, wasyncore
    from waitress.channel import HTTPChannel

    from shared.listen import inherited_listener

    inherited = listener or inherited_listener(env)
    if inherited is not None:
        where: dict[str, Any] = {"sockets": [inherited]}
    else:
        host, port = bind_address(env)
        where = {"host": host, "port": port}
    counted = InFlight(app)
    server = create_server(
        counted,
        **where,
        threads=int(env.get("BINKS_THREADS", "4")),
        ident="binks",
        clear_untrusted_proxy_headers=True,
    )
    drain_s = float(env.get("BINKS_DRAIN_SECONDS", "300"))
    stopping: list[float] = []

    def stop(signum: int, _frame: Any) -> None:
        if not stopping:
            stopping.append(time.monotonic() + drain_s)
            wasyncore.dispatcher.close(server)  # no new connections; the trigger stays

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)

    def answered() -> bool:
        channels = [c for c in server._map.values() if isinstance(c, HTTPChannel)]
        busy = any(c.requests or c.total_outbufs_len for c in channels)
        return counted.active == 0 and not busy

    while not (stopping and (answered() or time.monotonic() > stopping[0])):
        wasyncore.loop(timeout=LOOP_TICK_S, map=server._map, use_poll=True, count=1)
    server.task_dispatcher.shutdown(cancel_pending=True, timeout=5)
    return 0


def main(argv: list[str]) -> int:
    spec = argv[0] if argv else os.environ.get("BINKS_APP", "")
    if not spec:
        print(
            "usage: python -m shared.runtime.serve functions.<role>@<variant> (or set BINKS_APP)",
            file=sys.stderr,
        )
        return 2
    # While the app loads (seconds: the framework's imports) nothing is in flight: a
    # SIGTERM then just ends the start, exit 0. As PID 1 in a container a signal without
    # a handler would be ignored; serve() installs the draining handler before it listens.
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, _stop_starting)
    if os.environ.get(SNAPSHOT_FD_ENV, "").strip():  # snapshot start: never on a cold one
        from shared.runtime import snapshot

        preload(spec)
        try:
            handover = snapshot.await_handover()
        except snapshot.HandoverError as problem:
            print(f"snapshot start: {problem}", file=sys.stderr)
            return 1
        return serve(load_app(spec), listener=handover.listener)
    return serve(load_app(spec))


def _stop_starting(signum: int, _frame: Any) -> None:
    raise SystemExit(0)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

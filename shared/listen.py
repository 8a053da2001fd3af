"""Listening sockets handed from a parent process to the server it starts.

Picking a "free" port and letting a child bind it later races with every other
process on the machine (``Address already in use`` under load). Instead the parent
binds port 0, reads the port the kernel chose, and passes the open, listening socket
to the child, which serves on it (systemd's socket activation, reduced to one
variable): ``BINKS_LISTEN_FD`` names the inherited descriptor. Connections made
before the child serves wait in the socket's backlog instead of being refused.

Standard library only: a function's cold start imports this.
"""

from __future__ import annotations

import os
import socket
import stat
from collections.abc import Mapping

LISTEN_FD_ENV = "BINKS_LISTEN_FD"
LOOPBACK = "127.0.0.1"
BACKLOG = 1024


def bind_listener(host: str = LOOPBACK, port: int = 0) -> socket.socket:
    """A TCP socket bound to ``host:port`` (0: the kernel picks) and listening,
    inheritable by a child started with ``pass_fds=(sock.fileno(),)``."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(BACKLOG)
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


def port_of(sock: socket.socket) -> int:
    """The port a bound socket listens on."""
    return sock.getsockname()[1]


def child_env(sock: socket.socket) -> dict[str, str]:
    """The variable that tells a child which descriptor to serve on."""
    return {LISTEN_FD_ENV: str(sock.fileno())}


def inherited_listener(env: Mapping[str, str] = os.environ) -> socket.socket | None:
    """The listening socket a parent passed (``BINKS_LISTEN_FD``), or None if none was.

    Raises ValueError when the variable is set but names no listening TCP socket, so
    a wrong setup fails at start, not at the first request.
    """
    raw = env.get(LISTEN_FD_ENV, "").strip()
    if not raw:
        return None
    if not raw.isdigit():
        raise ValueError(f"{LISTEN_FD_ENV} must be a file descriptor number, got {raw!r}")
    fd = int(raw)
    try:
        if not stat.S_ISSOCK(os.fstat(fd).st_mode):
            raise ValueError(f"{LISTEN_FD_ENV}={fd} is not a socket")
        sock = socket.socket(fileno=fd)
    except OSError:
        raise ValueError(f"{LISTEN_FD_ENV}={fd} is not an open descriptor") from None
    if sock.type != socket.SOCK_STREAM or not sock.getsockopt(
        socket.SOL_SOCKET, socket.SO_ACCEPTCONN
    ):
        sock.detach()
        raise ValueError(f"{LISTEN_FD_ENV}={fd} is not a listening TCP socket")
    sock.set_inheritable(False)  # what this process starts must not serve on it too
    return sock

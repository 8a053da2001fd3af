"""Snapshot start, the function's side: after the imports, before anything that belongs
to one instance, wait for the platform to checkpoint this process, then take the
instance's own settings and listening socket from it, in the original and in every copy
restored from the checkpoint.

The runtime does this, never the role: a role's code runs after the handover, exactly
as on a cold start, and cannot tell the two apart. Everything per instance is made
after it: settings read from the environment, the role's ``configure``, the model
client, the idempotency and reporter stores, telemetry, the listening socket.

The protocol, on the Unix stream socket named by ``BINKS_SNAPSHOT_FD`` (the platform
holds the other end; CRIU swaps in a fresh one for each restored copy):

1. this process sends ``imported\\n``: nothing but the imports is done, no socket but
   this one is open; the checkpoint may be taken now. Or ``unsafe <reason>\\n`` when a
   socket is open (a connection made during the imports would be carried into every
   copy): no checkpoint, this instance goes on as a cold start;
2. the platform sends one message: ``{"env": {...}}`` (JSON) with the instance's
   listening TCP socket attached (``SCM_RIGHTS``);
3. this process re-seeds what a copy would share with its siblings (Python's
   ``random``, ``tempfile``'s name sequence), applies the environment and serves.

Standard library only: a function's cold start imports this.
"""

from __future__ import annotations

import os
import random
import re
import socket
import stat
import sys
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from shared.defaults import SNAPSHOT_FD_ENV

IMPORTED = b"imported\n"
#: Said instead of ``imported`` when the process must not be checkpointed; the reason
#: follows on the same line. The handover comes all the same: it starts cold.
UNSAFE = b"unsafe "
#: The largest handover message: an environment, never a request's data.
MAX_HANDOVER_BYTES = 256 * 1024
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class HandoverError(RuntimeError):
    """The snapshot channel is missing, closed or sent something that is not a handover."""


@dataclass(frozen=True)
class Handover:
    """What the platform gives one instance: its environment and its listening socket."""

    env: Mapping[str, str]
    listener: socket.socket


def await_handover(env: Mapping[str, str] = os.environ) -> Handover:
    """Announce that the imports are done, block until the platform hands this instance
    over (after checkpointing it, or in a restored copy), and make the process its own:
    fresh randomness, the given environment applied to ``os.environ``."""
    channel = _channel(env)
    try:
        strays = open_sockets(exclude=channel.fileno())
        if strays:  # a connection made during the imports would be in every copy
            reason = f"sockets open before the checkpoint: {', '.join(strays)}"
            channel.sendall(UNSAFE + reason.encode() + b"\n")
        else:
            channel.sendall(IMPORTED)
        data, fds, _flags, _address = socket.recv_fds(channel, MAX_HANDOVER_BYTES, 1)
    except OSError as problem:
        raise HandoverError(f"snapshot channel failed: {problem.strerror}") from None
    finally:
        channel.close()
    handover = parse_handover(data, fds)
    reseed()
    apply_env(handover.env)
    return handover


def parse_handover(data: bytes, fds: list[int]) -> Handover:
    """A handover from one message's bytes and descriptors; HandoverError (and every
    descriptor closed) when either is not what the protocol says."""
    import json

    try:
        if len(fds) != 1 or not stat.S_ISSOCK(os.fstat(fds[0]).st_mode):
            raise HandoverError(f"expected one listening socket, got {len(fds)} descriptor(s)")
        try:
            message = json.loads(data)
        except ValueError:
            raise HandoverError("the handover is not JSON") from None
        env = message.get("env") if isinstance(message, dict) else None
        if not isinstance(env, dict) or not all(_is_setting(k, v) for k, v in env.items()):
            raise HandoverError('the handover needs "env": {NAME: "value", ...}')
        listener = socket.socket(fileno=fds[0])
    except BaseException:
        for fd in fds:
            os.close(fd)
        raise
    if not listener.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN):
        listener.close()
        raise HandoverError("the handed-over socket is not listening")
    listener.set_inheritable(False)
    return Handover(env=dict(env), listener=listener)


def reseed() -> None:
    """Give this copy randomness of its own. ``random``'s module state and
    ``tempfile``'s name sequence were seeded once, before the checkpoint, so every copy
    would draw the same numbers (``tempfile`` re-seeds after a fork by PID, but a
    restored copy keeps the PID it had); so was NumPy's global generator where a
    framework imported it. ``os.urandom``, ``secrets`` and ``uuid4`` read
    the kernel each time and need nothing."""
    random.seed()
    tempfile._name_sequence = None  # type: ignore[attr-defined]  # rebuilt on next use
    numpy_random = sys.modules.get("numpy.random")
    if numpy_random is not None:  # a framework's import may have brought NumPy in
        numpy_random.seed()


def apply_env(env: Mapping[str, str]) -> None:
    """Set the instance's variables (``PORT``, ``K_REVISION``, …) in ``os.environ``."""
    os.environ.pop(SNAPSHOT_FD_ENV, None)
    os.environ.update(env)


def open_files(pid: int | str = "self") -> dict[int, str]:
    """Process ``pid``'s open descriptors and what each refers to (``/proc``'s links)."""
    found = {}
    for entry in Path(f"/proc/{pid}/fd").iterdir():
        try:
            found[int(entry.name)] = os.readlink(entry)
        except OSError:  # closed meanwhile (the listing's own descriptor)
            continue
    return found


def open_sockets(exclude: int = -1) -> list[str]:
    """This process's open sockets but ``exclude``, as ``fd N (socket:[inode])``."""
    return [
        f"fd {fd} ({target})"
        for fd, target in sorted(open_files().items())
        if fd != exclude and target.startswith("socket:")
    ]


def _channel(env: Mapping[str, str]) -> socket.socket:
    raw = env.get(SNAPSHOT_FD_ENV, "").strip()
    if not raw.isdigit():
        raise HandoverError(f"{SNAPSHOT_FD_ENV} must be a file descriptor number, got {raw!r}")
    try:
        channel = socket.socket(fileno=int(raw))
    except OSError:
        raise HandoverError(f"{SNAPSHOT_FD_ENV}={raw} is not an open socket") from None
    if channel.family != socket.AF_UNIX or channel.type != socket.SOCK_STREAM:
        channel.detach()
        raise HandoverError(f"{SNAPSHOT_FD_ENV}={raw} is not a Unix stream socket")
    return channel


def _is_setting(name: object, value: object) -> bool:
    return (
        isinstance(name, str)
        and isinstance(value, str)
        and bool(_NAME.fullmatch(name))
        and "\0" not in value
    )

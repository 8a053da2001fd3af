"""Start the platform (``python -m localknative``) as a process of its own and wait until
it answers; what a client of it needs: URL, state directory, credential."""

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
from pathlib import Path

from localknative import credential
from localknative.instances import connectable, joining
from localknative.paths import REPO
from shared.listen import LOOPBACK, bind_listener, child_env, port_of


@dataclass
class RunningPlatform:
    """A platform process started by :func:`start_platform`, with what a client needs."""

    process: subprocess.Popen[bytes]
    port: int
    url: str
    state: Path

    @property
    def token(self) -> str:
        """The platform's credential for the control API (``/_binks/*``)."""
        return credential.read(self.state, {})

    def auth(self) -> dict[str, str]:
        """The header that authorises a control API request."""
        return credential.header(self.token)

    def stop(self, timeout_s: float = 60.0, kill: bool = False) -> int:
        """SIGTERM (or SIGKILL) and wait; the exit status."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
        return self.process.wait(timeout_s)


def start_platform(
    state: Path,
    *options: str,
    port: int = 0,
    host: str = LOOPBACK,
    env: Mapping[str, str] | None = None,
    log: int | None = None,
    timeout_s: float = 30.0,
    cgroups: tuple[Path, ...] = (),
) -> RunningPlatform:
    """``python -m localknative --state STATE --model none OPTIONS...`` (what ``binks up``
    runs) as a real process, once it answers.

    The socket is bound here (``port`` 0: any free one) and handed to the platform, so
    the port is known before the start and nothing can take it meanwhile; a port in
    use fails here, at once. The model settings come from ``env`` (``--model none``
    passes them through).
    """
    listener = bind_listener(host, port)
    port = port_of(listener)
    command = [sys.executable, "-m", "localknative", "--port", str(port), "--model", "none"]
    command += ["--host", host, "--state", str(state), *options]
    try:
        process = subprocess.Popen(
            command,
            cwd=REPO,
            env={**os.environ, **(env or {}), **child_env(listener)},
            stdout=log,
            stderr=log,
            preexec_fn=joining(cgroups),
            pass_fds=(listener.fileno(),),
        )
    finally:
        listener.close()
    running = RunningPlatform(process, port, f"http://{connectable(host)}:{port}", state)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"binks up exited with code {process.returncode}")
        try:
            # the socket listens already: this waits in its backlog until the platform serves
            with urllib.request.urlopen(f"{running.url}/healthz", timeout=1):
                return running
        except (urllib.error.URLError, OSError):
            time.sleep(0.05)
    process.terminate()
    raise TimeoutError(f"the platform did not answer /healthz within {timeout_s:.0f} s")

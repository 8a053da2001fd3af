"""Start function instances as real processes (``shared.runtime.serve`` from the variant's
environment), wait for readiness, read their memory, stop them with SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from events import VARIANTS
from localknative import credential
from shared.listen import LOOPBACK, bind_listener, child_env, port_of

REPO = Path(__file__).resolve().parents[1]
#: The functions' ``BINKS_REPO_BASE`` locally: the sample repositories only (not the
#: project with its model file, caches and environments, nor the platform's state).
WORKSPACE = REPO / "workspace"
READINESS_PATH = "/health/readiness"


@dataclass(frozen=True)
class FunctionSpec:
    """One function: a role package under ``functions/`` on one variant."""

    role: str
    variant: str

    def __post_init__(self) -> None:
        if self.variant not in VARIANTS:
            raise ValueError(f"unknown variant {self.variant!r}; expected one of {VARIANTS}")
        if not (REPO / "functions" / self.role / f"{self.variant}_app.py").is_file():
            raise ValueError(f"no function {self.role!r} (looked in functions/{self.role}/)")

    @property
    def service(self) -> str:
        """The Knative Service name, e.g. ``code-reviewer-agno``."""
        return f"{self.role.replace('_', '-')}-{self.variant}"

    @property
    def environment(self) -> Path:
        return REPO / ".venvs" / self.variant

    def command(self) -> list[str]:
        python = self.environment / "bin" / "python"
        if not python.exists():
            raise FileNotFoundError(f"{python} is missing: run `make setup` first")
        app = f"functions.{self.role}.{self.variant}_app:create_app"
        return [str(python), "-m", "shared.runtime.serve", app]


class FunctionProcess:
    """One running instance. ``started`` is the monotonic time of the spawn.

    Without a ``port``, the instance serves on a socket bound here to ``host``, port 0
    (the kernel picks a free one) and handed to the process (``shared.listen``), so no
    other process can take the port between choosing and binding it.
    """

    def __init__(
        self,
        spec: FunctionSpec,
        port: int | None = None,
        env: Mapping[str, str] = (),
        readiness_path: str = READINESS_PATH,
        host: str = LOOPBACK,
    ):
        self.spec = spec
        self.readiness_path = readiness_path
        self._listener = bind_listener(host) if port is None else None
        self.port = port_of(self._listener) if self._listener else port
        self.url = f"http://{_connectable(host)}:{self.port}"
        overrides = {
            "PORT": str(self.port),
            "K_SERVICE": spec.service,
            "K_CONFIGURATION": spec.service,
            "K_REVISION": f"{spec.service}-00001",
            "BINKS_REPO_BASE": str(WORKSPACE),
            "PYTHONPATH": str(REPO),
            **dict(env),
            # the socket decides where a local instance listens, whatever a manifest says
            "BINKS_BIND": host,
            **(child_env(self._listener) if self._listener else {}),
        }
        self._env = {**os.environ, **overrides}
        self._process: subprocess.Popen[bytes] | None = None
        self.started = 0.0

    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def start(
        self, log: int | None = subprocess.DEVNULL, cgroups: tuple[Path, ...] = ()
    ) -> FunctionProcess:
        """Spawn the instance; inside ``cgroups`` from its first instruction, if given."""
        self.started = time.monotonic()
        try:
            self._process = subprocess.Popen(
                self.spec.command(),
                cwd=REPO,
                env=self._env,
                stdout=log,
                stderr=log,
                preexec_fn=joining(cgroups),
                pass_fds=(self._listener.fileno(),) if self._listener else (),
            )
        finally:
            self.close_listener()  # the child holds it now (or nobody will)
        return self

    def close_listener(self) -> None:
        """Release this process's copy of the listening socket (idempotent)."""
        if self._listener is not None:
            self._listener.close()
            self._listener = None

    @property
    def pid(self) -> int:
        assert self._process is not None, "start() first"
        return self._process.pid

    def wait_ready(self, timeout_s: float = 120.0) -> float:
        """Poll readiness; return seconds from spawn to the first 200."""
        assert self._process is not None, "start() first"
        deadline = self.started + timeout_s
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(
                    f"{self.spec.service} exited with code {self._process.returncode} before ready"
                )
            wait_s = max(0.05, min(2.0, deadline - time.monotonic()))
            try:
                # the socket listens from the spawn on: this waits in its backlog until the
                # server accepts, so the first 200 is seen when it happens, not at a poll tick
                with urllib.request.urlopen(
                    self.url + self.readiness_path, timeout=wait_s
                ) as answer:
                    if answer.status == 200:
                        return time.monotonic() - self.started
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.02)
        raise TimeoutError(f"{self.spec.service} not ready after {timeout_s:.0f} s")

    def pids(self) -> list[int]:
        """The instance's processes (one, unless the function starts children)."""
        return process_tree(self.pid)

    def rss_bytes(self) -> int:
        """Resident memory of the instance's processes."""
        return sum(_rss(pid) for pid in self.pids())

    def stop(self, timeout_s: float = 30.0) -> int:
        """SIGTERM (the server drains in-flight requests), SIGKILL after ``timeout_s``."""
        self.close_listener()
        if self._process is None or self._process.poll() is not None:
            return self._process.returncode if self._process else 0
        self._process.send_signal(signal.SIGTERM)
        try:
            return self._process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            self._process.kill()
            return self._process.wait()

    def __enter__(self) -> FunctionProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _connectable(host: str) -> str:
    """The address a client on this machine uses to reach a server bound to ``host``."""
    if host in ("", "0.0.0.0"):
        return LOOPBACK
    if host == "::":
        return "[::1]"
    return f"[{host}]" if ":" in host else host


def process_tree(pid: int) -> list[int]:
    """``pid`` and its descendants, parents first."""
    pids, index = [pid], 0
    while index < len(pids):
        try:
            children = Path(f"/proc/{pids[index]}/task/{pids[index]}/children").read_text()
        except OSError:
            children = ""
        pids.extend(int(child) for child in children.split())
        index += 1
    return pids


def _rss(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def joining(cgroups: tuple[Path, ...]) -> Callable[[], None] | None:
    """A ``preexec_fn`` that moves the child into ``cgroups`` before it execs (so all it
    starts is accounted there too); None when there are none."""
    if not cgroups:
        return None

    def join() -> None:
        for group in cgroups:
            (group / "cgroup.procs").write_text(str(os.getpid()))

    return join


@dataclass
class RunningPlatform:
    """A ``binks up`` process started by :func:`start_platform`, with what a client needs."""

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
    """``binks up --state STATE --model none OPTIONS...`` as a real process, once it answers.

    The socket is bound here (``port`` 0: any free one) and handed to the platform, so
    the port is known before the start and nothing can take it meanwhile; a port in
    use fails here, at once. The model settings come from ``env`` (``--model none``
    passes them through).
    """
    listener = bind_listener(host, port)
    port = port_of(listener)
    command = [sys.executable, "-m", "binks.cli", "up", "--port", str(port), "--model", "none"]
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
    running = RunningPlatform(process, port, f"http://{_connectable(host)}:{port}", state)
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

"""Start function instances as real processes (``shared.runtime.serve`` from the variant's
environment), wait for readiness, read their memory, stop them with SIGTERM."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from events import VARIANTS

REPO = Path(__file__).resolve().parents[1]
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


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class FunctionProcess:
    """One running instance. ``started`` is the monotonic time of the spawn."""

    def __init__(
        self,
        spec: FunctionSpec,
        port: int | None = None,
        env: Mapping[str, str] = (),
        readiness_path: str = READINESS_PATH,
    ):
        self.spec = spec
        self.readiness_path = readiness_path
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        overrides = {
            "PORT": str(self.port),
            "K_SERVICE": spec.service,
            "K_CONFIGURATION": spec.service,
            "K_REVISION": f"{spec.service}-00001",
            "BINKS_REPO_BASE": str(REPO),
            "PYTHONPATH": str(REPO),
            **dict(env),
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
        self._process = subprocess.Popen(
            self.spec.command(),
            cwd=REPO,
            env=self._env,
            stdout=log,
            stderr=log,
            preexec_fn=joining(cgroups),
        )
        return self

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
            try:
                with urllib.request.urlopen(self.url + self.readiness_path, timeout=2) as answer:
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


def start_platform(
    port: int,
    *options: str,
    env: Mapping[str, str] | None = None,
    log: int | None = None,
    timeout_s: float = 30.0,
    cgroups: tuple[Path, ...] = (),
) -> subprocess.Popen[bytes]:
    """``binks up --port PORT --model none OPTIONS...`` as a real process, once it answers.

    The model settings come from ``env`` (``--model none`` passes them through).
    """
    command = [sys.executable, "-m", "binks.cli", "up", "--port", str(port), "--model", "none"]
    process = subprocess.Popen(
        [*command, *options],
        cwd=REPO,
        env={**os.environ, **(env or {})},
        stdout=log,
        stderr=log,
        preexec_fn=joining(cgroups),
    )
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"binks up exited with code {process.returncode}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1):
                return process
        except (urllib.error.URLError, OSError):
            time.sleep(0.05)
    process.terminate()
    raise TimeoutError(f"the platform did not answer /healthz within {timeout_s:.0f} s")

"""Function instances as real processes: ``shared.runtime.serve`` from the variant's
environment, in the instance's memory cgroup where its Service sets a limit; wait for
readiness, read memory, stop with SIGTERM."""

from __future__ import annotations

import contextlib
import ctypes
import os
import re
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from localknative import cgroups as memory_groups
from localknative.paths import REPO, WORKSPACE
from shared import variants
from shared.defaults import READINESS_PATH
from shared.listen import LOOPBACK, bind_listener, child_env, port_of

#: ``$(K_SERVICE)``, ``$(K_CONFIGURATION)``, ``$(K_REVISION)`` in an environment value
#: name the instance's own (Kubernetes' dependent-variable syntax).
_IDENTITY = re.compile(r"\$\((K_SERVICE|K_CONFIGURATION|K_REVISION)\)")


@dataclass(frozen=True)
class FunctionSpec:
    """One function: a role package under ``functions/`` on one variant."""

    role: str
    variant: str

    def __post_init__(self) -> None:
        variants.get(self.variant)  # ValueError naming the known ones
        if not (REPO / "functions" / self.role / "role.py").is_file():
            raise ValueError(f"no function {self.role!r} (looked in functions/{self.role}/)")

    @property
    def service(self) -> str:
        """The Knative Service name, e.g. ``code-reviewer-agno``."""
        return variants.get(self.variant).service(self.role)

    @property
    def environment(self) -> Path:
        """The variant's environment (``.venvs/<variant>``)."""
        return REPO / variants.get(self.variant).environment

    def command(self) -> list[str]:
        """The instance's command line: the variant's Python serving the role's app."""
        python = self.environment / "bin" / "python"
        if not python.exists():
            raise FileNotFoundError(f"{python} is missing: run `make setup` first")
        return [
            str(python),
            "-m",
            "shared.runtime.serve",
            variants.get(self.variant).app(self.role),
        ]


def identity_expanded(env: Mapping[str, str]) -> dict[str, str]:
    """``env`` with ``$(K_SERVICE)`` (and ``K_CONFIGURATION``, ``K_REVISION``) in its values
    replaced by ``env``'s own: one setting for every Service, a value per instance, e.g.
    ``OLLAMA_HOST=http://127.0.0.1:11434/$(K_SERVICE)``. Other text is kept as is."""
    return {key: _IDENTITY.sub(lambda m: env.get(m[1], m[0]), v) for key, v in env.items()}


class Spawned:
    """What every kind of instance shares: a listening socket bound here and handed to
    the child, the child process, and start/stop as a context manager."""

    _listener: socket.socket | None = None
    _process: subprocess.Popen[bytes] | None = None

    def running(self) -> bool:
        """True while the child lives."""
        return self._process is not None and self._process.poll() is None

    def close_listener(self) -> None:
        """Release this process's copy of the listening socket (idempotent)."""
        if self._listener is not None:
            self._listener.close()
            self._listener = None

    def start(self, log: int | None = subprocess.DEVNULL, cgroups: tuple[Path, ...] = ()):
        raise NotImplementedError

    def stop(self, timeout_s: float = 30.0) -> int:
        raise NotImplementedError

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class FunctionProcess(Spawned):
    """One running instance. ``started`` is the monotonic time of the spawn.

    Without a ``port``, the instance serves on a socket bound here to ``host``, port 0
    (the kernel picks a free one) and handed to the process (``shared.listen``), so no
    other process can take the port between choosing and binding it. With
    ``memory_limit_bytes``, its processes go into a memory cgroup of their own
    (``cgroup``; None where cgroups cannot be written), removed when it stops.
    """

    def __init__(
        self,
        spec: FunctionSpec,
        port: int | None = None,
        env: Mapping[str, str] = (),
        readiness_path: str = READINESS_PATH,
        host: str = LOOPBACK,
        memory_limit_bytes: int | None = None,
    ):
        self.spec = spec
        self.readiness_path = readiness_path
        self.memory_limit_bytes = memory_limit_bytes
        self.cgroup: Path | None = None
        self._listener = bind_listener(host) if port is None else None
        self.port = port_of(self._listener) if self._listener else port
        self.url = f"http://{connectable(host)}:{self.port}"
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
        self.service = overrides["K_SERVICE"]
        #: what this instance is told, over the platform's own environment
        self.instance_env = identity_expanded(overrides)
        self._env = {**os.environ, **self.instance_env}
        self._process = None
        self.started = 0.0

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
                preexec_fn=joining(cgroups, die_with_parent=True),
                pass_fds=(self._listener.fileno(),) if self._listener else (),
            )
        finally:
            self.close_listener()  # the child holds it now (or nobody will)
        self._limit_memory()
        return self

    @property
    def pid(self) -> int:
        """The instance's (first) process id."""
        assert self._process is not None, "start() first"
        return self._process.pid

    def wait_ready(self, timeout_s: float = 120.0) -> float:
        """Poll readiness; return seconds from spawn to the first 200."""
        assert self._process is not None, "start() first"
        url = self.url + self.readiness_path
        ready_s = poll_ready(self._process, url, self.started, timeout_s, self.spec.service)
        self._limit_memory()  # the processes it forked while starting, too
        return ready_s

    def _limit_memory(self) -> None:
        if self.memory_limit_bytes and self.running():
            name = f"{self.service}-{self.pid}"
            group = memory_groups.limit(name, self.pids(), self.memory_limit_bytes)
            self.cgroup = group or self.cgroup

    def pids(self) -> list[int]:
        """The instance's processes (one, unless the function starts children)."""
        return process_tree(self.pid)

    def rss_bytes(self) -> int:
        """Resident memory of the instance's processes."""
        return sum(rss(pid) for pid in self.pids())

    def memory(self) -> dict[str, int]:
        """What the instance's own memory cgroup counts (``cgroups.counts``), or only
        ``rss`` where it has none."""
        counted = memory_groups.counts(self.cgroup) if self.cgroup else {}
        return counted or {"rss": self.rss_bytes()}

    def stop(self, timeout_s: float = 30.0) -> int:
        """SIGTERM (the server drains in-flight requests), SIGKILL after ``timeout_s``;
        then its cgroup goes. The exit status (at once for an instance that died)."""
        self.close_listener()
        try:
            if self._process is None or self._process.poll() is not None:
                return self._process.returncode if self._process else 0
            self._signal(signal.SIGTERM)
            try:
                return self._process.wait(timeout_s)
            except subprocess.TimeoutExpired:
                self._signal(signal.SIGKILL)
                return self._process.wait()
        finally:
            memory_groups.remove(self.cgroup)
            self.cgroup = None

    def _signal(self, signum: int) -> None:
        """Signal the function's own process (``pid``: the child, where a wrapper such
        as ``unshare`` or ``criu`` is the process started)."""
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signum)


def poll_ready(
    process: subprocess.Popen[bytes], url: str, started: float, timeout_s: float, service: str
) -> float:
    """Seconds from ``started`` to ``url``'s first 200; RuntimeError if ``process`` exits
    first, TimeoutError after ``timeout_s``."""
    deadline = started + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{service} exited with code {process.returncode} before ready")
        wait_s = max(0.05, min(2.0, deadline - time.monotonic()))
        try:
            # the socket listens from the spawn on: this waits in its backlog until the
            # server accepts, so the first 200 is seen when it happens, not at a poll tick
            with urllib.request.urlopen(url, timeout=wait_s) as answer:
                if answer.status == 200:
                    return time.monotonic() - started
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.02)
    raise TimeoutError(f"{service} not ready after {timeout_s:.0f} s")


def connectable(host: str) -> str:
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


def rss(pid: int) -> int:
    """Resident memory of one process in bytes (0 once it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def joining(
    cgroups: tuple[Path, ...],
    die_with_parent: bool = False,
    death_signal: int = signal.SIGTERM,
) -> Callable[[], None] | None:
    """A ``preexec_fn`` that moves the child into ``cgroups`` before it execs (so all it
    starts is accounted there too) and, with ``die_with_parent``, has the kernel send it
    ``death_signal`` (SIGTERM: it drains) when the process that started it dies (a
    platform killed by the OOM killer or SIGKILL leaves no instance behind); None when
    there is nothing to do. The kernel takes the *thread* that forks for the parent:
    start instances from one that outlives them (the platform's event loop, a bench's
    main thread), never a short-lived worker."""
    if not cgroups and not die_with_parent:
        return None
    prctl = _prctl() if die_with_parent else None
    parent = os.getpid()

    def setup() -> None:
        for group in cgroups:
            (group / "cgroup.procs").write_text(str(os.getpid()))
        if prctl is not None:
            prctl(_PR_SET_PDEATHSIG, death_signal)
            if os.getppid() != parent:  # it died before the line above: follow it now
                os.kill(os.getpid(), death_signal)

    return setup


_PR_SET_PDEATHSIG = 1


def _prctl() -> Callable[..., int] | None:
    """libc's ``prctl`` (Linux), loaded before a fork; None where there is none."""
    try:
        return ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None

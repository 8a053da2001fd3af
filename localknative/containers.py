"""Function instances as containers: the Service's image under podman, as a kubelet
would run it on a node (``binks up --runtime container``).

The same contract as a process instance (``localknative.instances``): the platform binds
the instance's socket on loopback, port 0, and hands it over (``--preserve-fds``), so the
container needs no published port and listens nowhere else; ``--network host`` only
lets it reach the model and the broker (``K_SINK``) on loopback, as a process does. The
manifest's memory limit is the container's (``--memory``, no swap), its CPU request its
shares and its CPU limit its quota; readiness is the manifest's probe over the socket;
scale-down is SIGTERM (forwarded by podman to the server, which drains) and a kill after
the Service's timeout. The container's memory is read from its own cgroup.

Only the Service's environment reaches the container, by name (``-e NAME``: the values
travel in podman's environment, never on a command line), with the paths translated:
the workspace is mounted read-only at ``/workspace``, the functions' state directory
read-write at ``/var/lib/binks``.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Mapping
from pathlib import Path

from localknative import cgroups as memory_groups
from localknative.instances import (
    FunctionSpec,
    Spawned,
    connectable,
    identity_expanded,
    joining,
    poll_ready,
)
from shared.defaults import READINESS_PATH
from shared.listen import LISTEN_FD_ENV, LOOPBACK, bind_listener, port_of

PODMAN = "podman"
#: Every container the platform starts carries this label: what a platform that was
#: killed left behind is removed at the next start (``remove_leftovers``).
LABEL = "io.binks.platform"
#: Where a container finds the workspace (read-only) and its state (read-write).
WORKSPACE_MOUNT = "/workspace"
STATE_MOUNT = "/var/lib/binks"
#: The listening socket's number inside the container (``--preserve-fds 1``: fd 3).
HANDED_FD = 3
#: How long podman's client gets to report a container that ended on its own (it removes
#: the container first: about a second here, more under memory pressure).
GONE_WAIT_S = 10.0
#: Names the host's environment must never hand to a container, whatever the Service
#: says: they describe this machine (paths, the interpreter), not the image.
HOST_ONLY = re.compile(r"PATH|PYTHONPATH|PYTHONHOME|HOME|LD_.*|BINKS_LISTEN_FD|BINKS_BIND")


class ContainerError(RuntimeError):
    """podman missing, an image not built, or a container that would not start."""


def check_podman() -> None:
    """ContainerError naming what to install when podman cannot run containers here."""
    if shutil.which(PODMAN) is None:
        raise ContainerError(
            "--runtime container needs podman: install it (Debian: apt-get install podman "
            "runc), then build the images: make images PLATFORMS=linux/amd64"
        )


def host_arch() -> str:
    """This machine's architecture as images name it (``amd64``, ``arm64``)."""
    machine = os.uname().machine
    return {"x86_64": "amd64", "aarch64": "arm64"}.get(machine, machine)


def missing_images(images: list[str]) -> list[str]:
    """The ``images`` podman does not have locally (nothing is ever pulled)."""
    missing = []
    for image in dict.fromkeys(images):
        found = subprocess.run(
            [PODMAN, "image", "exists", image], capture_output=True, check=False
        ).returncode
        if found != 0:
            missing.append(image)
    return missing


def remove_leftovers(owner: str) -> int:
    """Remove the containers an earlier run of this platform (``owner``: its state
    directory) left running, e.g. after a SIGKILL; how many there were."""
    listed = subprocess.run(
        [PODMAN, "ps", "-aq", "--filter", f"label={LABEL}={owner}"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.split()
    if listed:
        subprocess.run([PODMAN, "rm", "-f", "-t", "0", *listed], capture_output=True, check=False)
    return len(listed)


def remove(name: str) -> None:
    """Remove container ``name`` at once, running or not (a Job past its deadline)."""
    subprocess.run([PODMAN, "rm", "-f", "-t", "0", name], capture_output=True, check=False)


def job_command(
    image: str, args: tuple[str, ...], env: Mapping[str, str], name: str, owner: str = ""
) -> tuple[list[str], dict[str, str]]:
    """``podman run`` for one attempt of a Job, and podman's environment: no network (the
    worker reads files), no capabilities, the workspace (``env``'s ``BINKS_REPO_BASE``)
    read-only, ``env``'s names only, by name; ``image`` as the Job names it (its
    repository already allow-listed)."""
    workspace = env.get("BINKS_REPO_BASE")
    inside = container_env(env, workspace=workspace is not None, state=False)
    names = [arg for env_name in sorted(inside) for arg in ("-e", env_name)]
    argv = [
        PODMAN, "run", "--rm", "--pull=never", "--name", name, "--label", f"{LABEL}={owner}",
        "--network", "none", "--cap-drop", "all", "--security-opt", "no-new-privileges",
        *mounts(Path(workspace) if workspace else None, None), *names, image, *args,
    ]  # fmt: skip
    return argv, {**os.environ, **inside}


def container_env(
    env: Mapping[str, str], workspace: bool = True, state: bool = True
) -> dict[str, str]:
    """A Service's environment as its container sees it: host-only names dropped, the
    workspace and the state directory at their mount points where they are mounted (the
    image's own defaults where not: a host path means nothing inside)."""
    inside = {name: value for name, value in env.items() if not HOST_ONLY.fullmatch(name)}
    for name, mounted, mount in (
        ("BINKS_REPO_BASE", workspace, WORKSPACE_MOUNT),
        ("BINKS_STATE_DIR", state, STATE_MOUNT),
    ):
        inside.pop(name, None)
        if mounted:
            inside[name] = mount
    return inside


def resource_flags(
    memory_limit_bytes: int | None, cpu_request_millis: int | None, cpu_limit_millis: int | None
) -> list[str]:
    """podman's flags for a container's resources, as a kubelet derives its cgroup's:
    memory limit without swap, CPU request → shares (1024 per core), limit → quota."""
    flags = []
    if memory_limit_bytes:
        flags += ["--memory", str(memory_limit_bytes), "--memory-swap", str(memory_limit_bytes)]
    if cpu_request_millis:
        flags += ["--cpu-shares", str(max(2, cpu_request_millis * 1024 // 1000))]
    if cpu_limit_millis:
        flags += ["--cpus", f"{cpu_limit_millis / 1000:g}"]
    return flags


def mounts(workspace: Path | None, state_dir: Path | None) -> list[str]:
    """The workspace read-only at ``/workspace``, the state read-write at
    ``/var/lib/binks`` (``U``: owned by the image's user, 10001, whatever uid runs podman)."""
    flags = ["-v", f"{workspace}:{WORKSPACE_MOUNT}:ro"] if workspace is not None else []
    if state_dir is not None:
        flags += ["-v", f"{state_dir}:{STATE_MOUNT}:U"]
    return flags


def run_command(
    name: str, image: str, env_names: list[str], mount_flags: list[str], extra: list[str]
) -> list[str]:
    """``podman run`` of a Service's instance: removed when it ends, never pulled, the
    host's network (loopback: the model, the broker) with the platform's socket as fd 3,
    no capabilities, ``env_names`` from podman's environment (values never on a command
    line)."""
    return [
        PODMAN, "run", "--rm", "--pull=never", "--name", name, "--network", "host",
        "--preserve-fds", "1", "--cap-drop", "all", "--security-opt", "no-new-privileges",
        *extra, *mount_flags, *(arg for env_name in env_names for arg in ("-e", env_name)),
        image,
    ]  # fmt: skip


def _client_setup(
    listener_fd: int, outside_budget: bool, die_with_parent: Callable[[], None] | None
) -> None:
    """In podman's client, before it execs: the socket as fd 3; SIGTERM (forwarded to the
    container) when the platform dies; out of the platform's memory cgroup into the root
    one when the containers have a budget of their own."""
    os.dup2(listener_fd, HANDED_FD)
    if die_with_parent is not None:
        die_with_parent()
    if outside_budget:
        with contextlib.suppress(OSError):
            Path("/sys/fs/cgroup/memory/cgroup.procs").write_text(str(os.getpid()))


class FunctionContainer(Spawned):
    """One instance as a container; the interface of ``FunctionProcess``.

    ``started`` is the monotonic time ``podman run`` was spawned: ready seconds count
    what a node pays (create, start, imports), from an image already on the node.
    """

    def __init__(
        self,
        spec: FunctionSpec,
        image: str,
        env: Mapping[str, str] = (),
        readiness_path: str = READINESS_PATH,
        host: str = LOOPBACK,
        memory_limit_bytes: int | None = None,
        cpu_request_millis: int | None = None,
        cpu_limit_millis: int | None = None,
        workspace: Path | None = None,
        state_dir: Path | None = None,
        owner: str = "",
        cgroup_parent: str | None = None,
    ):
        self.spec = spec
        self.image = image
        self.readiness_path = readiness_path
        self.memory_limit_bytes = memory_limit_bytes
        self._listener = bind_listener(host)
        self.port = port_of(self._listener)
        self.url = f"http://{connectable(host)}:{self.port}"
        identity = {
            "K_SERVICE": spec.service,
            "K_CONFIGURATION": spec.service,
            "K_REVISION": f"{spec.service}-00001",
            **dict(env),
        }
        inside = container_env(
            identity_expanded(identity), workspace is not None, state_dir is not None
        )
        inside.update(PORT=str(self.port), **{LISTEN_FD_ENV: str(HANDED_FD)})
        self.service = inside["K_SERVICE"]
        self.name = f"binks-{self.service}-{secrets.token_hex(4)}"
        # podman writes the container's host pid here: read without a podman call, so
        # neither readiness nor `binks ps` waits for one
        self._pidfile = Path(tempfile.gettempdir()) / f"{self.name}.pid"
        # podman's cwd is conmon's, which writes a file `oom` there when the kernel kills
        # the container: never in the checkout
        self._cwd = state_dir.parent if state_dir is not None else Path(tempfile.gettempdir())
        if state_dir is not None:
            state_dir.mkdir(parents=True, exist_ok=True)
        self._argv = run_command(
            self.name,
            image,
            sorted(inside),
            mounts(workspace, state_dir),
            [
                *("--pidfile", str(self._pidfile), "--label", f"{LABEL}={owner}"),
                *resource_flags(memory_limit_bytes, cpu_request_millis, cpu_limit_millis),
                # a node's budget: the containers' cgroups go under it (bench --profile pi4)
                *(["--cgroup-parent", cgroup_parent] if cgroup_parent else []),
            ],
        )
        # podman reads the values from its own environment: no value on a command line
        self._env = {**os.environ, **inside}
        self._process = None
        self._pid: int | None = None
        # under a node's budget, podman's own client (~40 MiB, one per container) runs
        # outside it: a kubelet keeps no process per container (conmon, the shim, stays in)
        self._client_outside = cgroup_parent is not None
        self.started = 0.0

    def start(
        self, log: int | None = subprocess.DEVNULL, cgroups: tuple[Path, ...] = ()
    ) -> FunctionContainer:
        """``podman run`` the image with the socket as its fd 3. ``cgroups`` must be
        empty: the container's cgroup is the one podman creates."""
        if cgroups:
            raise ValueError("a container's cgroup is podman's: cgroups=() only")
        fd = self._listener.fileno()
        follow = joining((), die_with_parent=True)
        self.started = time.monotonic()
        try:
            self._process = subprocess.Popen(
                self._argv,
                env=self._env,
                cwd=self._cwd,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                pass_fds=(HANDED_FD,),
                # the socket becomes fd 3 in podman, which passes it on (--preserve-fds 1)
                preexec_fn=lambda: _client_setup(fd, self._client_outside, follow),
            )
        finally:
            self.close_listener()
        return self

    @property
    def pid(self) -> int:
        """The container's first process on the host (podman's client until it is known)."""
        assert self._process is not None, "start() first"
        return self._container_pid() or self._process.pid

    @property
    def cgroup(self) -> Path | None:
        """A marker, as a process's cgroup is: set once the container runs under a limit."""
        pid = self._container_pid()
        return Path(f"/proc/{pid}/cgroup") if pid and self.memory_limit_bytes else None

    def _container_pid(self) -> int | None:
        if self._pid is None:
            with contextlib.suppress(OSError, ValueError):
                self._pid = int(self._pidfile.read_text().strip()) or None
        return self._pid

    def wait_ready(self, timeout_s: float = 120.0) -> float:
        """Poll readiness through the socket; seconds from ``podman run`` to the first 200."""
        assert self._process is not None, "start() first"
        url = self.url + self.readiness_path
        return poll_ready(self._process, url, self.started, timeout_s, self.service)

    def memory(self) -> dict[str, int]:
        """The container's cgroup counts (``cgroups.counts_of``); {} before ready or once gone."""
        pid = self._container_pid()
        return memory_groups.counts_of(pid) if pid else {}

    def pids(self) -> list[int]:
        """The container's first process (its cgroup holds the rest)."""
        pid = self._container_pid()
        return [pid] if pid else []

    def rss_bytes(self) -> int:
        """Anonymous memory as the container's cgroup counts it."""
        return self.memory().get("rss", 0)

    def running(self) -> bool:
        """True while podman's client lives and so does the container's first process:
        a container killed under memory pressure can leave its client waiting (its
        conmon killed too), and its port closed."""
        pid = self._container_pid()
        return super().running() and (pid is None or Path(f"/proc/{pid}").exists())

    def stop(self, timeout_s: float = 30.0) -> int:
        """SIGTERM (podman forwards it; the server drains in-flight requests), a kill after
        ``timeout_s``; the container is removed (``--rm``, or ``podman rm`` when podman's
        client does not end). Its exit status: for a container already gone, the one its
        client reports (137 when the kernel killed it) if it does within ``GONE_WAIT_S``,
        not the SIGTERM this would send to a client still removing the container."""
        self.close_listener()
        gone = not self.running()
        with contextlib.suppress(OSError):
            self._pidfile.unlink()  # podman leaves it; the container is gone or going
        if self._process is None:
            return 0
        if gone:
            with contextlib.suppress(subprocess.TimeoutExpired):
                return self._process.wait(GONE_WAIT_S)
        if self._process.poll() is None:
            self._process.terminate()
            try:
                return self._process.wait(2 if gone else timeout_s)
            except subprocess.TimeoutExpired:
                remove(self.name)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    return self._process.wait(10 if gone else 30)
                self._process.kill()
        return self._process.wait()

"""Snapshot start for process instances (``binks up --start snapshot``): the first
instance of a revision starts cold and is checkpointed with CRIU once its imports are
done; every later scale-from-zero restores that checkpoint instead of importing again.

- **Where the checkpoint is taken.** After the imports, before anything per instance
  (``shared.runtime.snapshot``): the function announces it on a Unix socket and waits.
  The platform dumps it (``--leave-running``: the original goes on as the first
  instance), then hands it, and later each restored copy, its own environment and
  listening socket over that socket (CRIU swaps in a fresh one per copy:
  ``--ext-unix-sk`` at dump, ``--inherit-fd`` at restore).
- **Several copies at once.** The cold instance runs as PID 1 of a PID namespace of its
  own (``unshare --pid --fork``), so CRIU restores every copy into a new one: the
  same PID in each, no collision. Each copy gets its own port (the handed-over socket),
  its own work directory and its own memory cgroup, entered before the restore so the
  restored memory is charged there.
- **What a copy cannot carry.** The function refuses to be checkpointed with a socket
  open, and CRIU without ``--tcp-established`` refuses a TCP connection: no connection
  to the model or the broker is ever restored.

CRIU itself, and whether it can work here: ``localknative.criu``.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from localknative import cgroups as control_groups
from localknative.criu import criu_path, error_line
from localknative.instances import FunctionProcess, joining, poll_ready, process_tree
from localknative.paths import REPO
from shared.defaults import SNAPSHOT_FD_ENV
from shared.listen import LISTEN_FD_ENV
from shared.runtime.snapshot import IMPORTED, UNSAFE, open_files

#: How instances start: ``cold`` (import everything, the default) or ``snapshot``.
STARTS = ("cold", "snapshot")


@dataclass(frozen=True)
class Checkpoint:
    """One revision's checkpoint: CRIU's images and the inode of the function's end of
    the snapshot socket (what ``--inherit-fd`` replaces in each copy)."""

    directory: Path
    channel_inode: int
    dump_s: float
    #: what the process had open when it was dumped (``/proc/PID/fd`` targets by fd)
    files: dict[int, str]
    #: the images' size on disk, read once after the dump
    size_bytes: int


class Snapshots:
    """The checkpoints of one platform run, one per Service, under ``root``."""

    def __init__(self, root: Path, criu: Path | None = None) -> None:
        self.root = root
        self.criu = criu or criu_path()
        self._checkpoints: dict[str, Checkpoint] = {}
        self._claimed: set[str] = set()
        self._lock = threading.Lock()
        self._numbered = 0
        #: this run's folder of pids cgroups (``cgroups.track``), one per instance
        self.tracking = f"platform-{os.getpid()}"
        control_groups.sweep_orphans()  # what a killed platform left half-restored

    def get(self, service: str) -> Checkpoint | None:
        """The Service's checkpoint, once one was taken."""
        with self._lock:
            return self._checkpoints.get(service)

    def claim(self, service: str) -> bool:
        """True for the one cold start of ``service`` that is to be checkpointed (a
        Service whose checkpoint failed is not tried again: it starts cold)."""
        with self._lock:
            if service in self._claimed:
                return False
            self._claimed.add(service)
            return True

    def status(self, service: str, restores: int) -> dict[str, object]:
        """What ``binks ps`` shows of a Service's snapshot start."""
        checkpoint = self.get(service)
        taken = None
        if checkpoint is not None:
            taken = {"mib": round(checkpoint.size_bytes / 2**20, 1), "dump_s": checkpoint.dump_s}
        return {"restores": restores, "checkpoint": taken}

    def discard(self, service: str) -> None:
        """Forget ``service``'s checkpoint (a restore of it failed): it starts cold."""
        with self._lock:
            checkpoint = self._checkpoints.pop(service, None)
        if checkpoint is not None:
            shutil.rmtree(checkpoint.directory, ignore_errors=True)

    def dump(self, service: str, pid: int, channel_inode: int) -> Checkpoint:
        """Checkpoint the running instance ``pid`` (left running); RuntimeError with
        CRIU's own error line when the dump fails."""
        directory = self.root / service
        shutil.rmtree(directory, ignore_errors=True)
        self._private(directory)
        files = open_files(pid)
        started = time.monotonic()
        command = [
            str(self.criu), "dump", "-t", str(pid), "-D", str(directory),
            "--leave-running", f"--ext-unix-sk={channel_inode}",
            "-o", "dump.log",
        ]  # fmt: skip
        done = subprocess.run(command, capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            raise RuntimeError(f"criu dump failed: {error_line(directory / 'dump.log')}")
        dump_s = time.monotonic() - started
        size = sum(f.stat().st_size for f in directory.iterdir() if f.is_file())
        checkpoint = Checkpoint(directory, channel_inode, dump_s, files, size)
        with self._lock:
            self._checkpoints[service] = checkpoint
        return checkpoint

    def number(self) -> int:
        """A number no other instance of this run has (names its cgroup, its work dir)."""
        with self._lock:
            self._numbered += 1
            return self._numbered

    def work_dir(self, service: str) -> Path:
        """A new directory for one restore's log and pidfile."""
        directory = self.root / "restores" / f"{service}-{self.number()}"
        self._private(directory)
        return directory

    def _private(self, directory: Path) -> None:
        """Create ``directory`` under a ``root`` only this user can enter: CRIU writes its
        images world-readable, and they hold the process's memory, the platform's
        credential in its environment among it."""
        self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.root.chmod(0o700)
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)

    def remove(self) -> None:
        """Delete every checkpoint (at the platform's stop: they are hundreds of MiB)
        and this run's folder of pids cgroups (empty once its instances stopped)."""
        shutil.rmtree(self.root, ignore_errors=True)
        with contextlib.suppress(OSError):
            (control_groups.PIDS_ROOT / self.tracking).rmdir()


class _HandedOver(FunctionProcess):
    """An instance that gets its listening socket and environment over the snapshot
    socket instead of at spawn."""

    def __init__(self, *args, snapshots: Snapshots, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.snapshots = snapshots
        self._channel, self._child_channel = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        self._child_channel.set_inheritable(True)
        self.instance_env.pop(LISTEN_FD_ENV, None)
        self._env.pop(LISTEN_FD_ENV, None)
        self._env[SNAPSHOT_FD_ENV] = str(self._child_channel.fileno())
        self._function_pid: int | None = None
        #: the instance's pids cgroup (``cgroups.track``): what it leaves is killed at stop
        self._tracked: Path | None = None

    @property
    def pid(self) -> int:
        """The function's own process (the wrapper's until it is known)."""
        assert self._process is not None, "start() first"
        return self._function_pid or self._process.pid

    def handover(self) -> None:
        """Send the instance its environment and listening socket."""
        assert self._listener is not None
        message = json.dumps({"env": self.instance_env}).encode()
        try:
            socket.send_fds(self._channel, [message], [self._listener.fileno()])
        finally:
            self.close_listener()
            self._channel.close()

    #: what the wrapper gets when the platform dies (``RestoredProcess``: SIGKILL)
    death_signal = signal.SIGTERM

    def _spawn(self, command: list[str], log: int | None, cgroups: tuple[Path, ...]) -> None:
        """Start ``command`` with the child's end of the snapshot socket, inside a memory
        cgroup of its own from its first instruction (where the Service sets a limit): a
        restored copy's pages are charged where they land, and a cgroup entered later
        would not count what was charged before."""
        name = f"{self.service}-{self.snapshots.number()}"
        if self.memory_limit_bytes:
            self.cgroup = control_groups.limit(name, [], self.memory_limit_bytes)
            cgroups = (*cgroups, self.cgroup) if self.cgroup else cgroups
        self._tracked = control_groups.track(f"{self.snapshots.tracking}/{name}")
        cgroups = (*cgroups, self._tracked) if self._tracked else cgroups
        self.started = time.monotonic()
        try:
            self._process = subprocess.Popen(
                command,
                cwd=REPO,
                env=self._env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                preexec_fn=joining(cgroups, True, self.death_signal),
                pass_fds=(self._child_channel.fileno(),),
            )
        finally:
            self._child_channel.close()  # the child holds it now

    def _limit_memory(self) -> None:
        pass  # entered at the spawn (``_spawn``)

    def stop(self, timeout_s: float = 30.0) -> int:
        """As a process instance stops; then whatever is left in its pids cgroup is
        killed (a copy criu died half-way restoring blocks every signal but SIGKILL and
        has no parent of ours)."""
        self._channel.close()
        try:
            return super().stop(timeout_s)
        finally:
            left = control_groups.kill_tracked(self._tracked)
            if left:
                print(
                    f"localknative: {self.service}: killed what was left: {left}", file=sys.stderr
                )


class SnapshotProcess(_HandedOver):
    """A cold instance in a PID namespace of its own, checkpointed once its imports are
    done if it is the first of its Service (``Snapshots.claim``)."""

    def start(self, log: int | None = subprocess.DEVNULL, cgroups: tuple[Path, ...] = ()):
        # --kill-child: the function gets SIGTERM when unshare dies (and, restored, when
        # criu dies: CRIU restores the parent-death signal); setsid: a session of its own
        # inside the namespace, as CRIU needs of what it dumps
        wrapper = ["unshare", "--pid", "--fork", "--kill-child=SIGTERM", "setsid"]
        self._spawn(wrapper + self.spec.command(), log, cgroups)
        return self

    def wait_ready(self, timeout_s: float = 120.0) -> float:
        """Wait for the imports, checkpoint (the first instance of a Service), hand over
        and poll readiness; seconds from spawn to the first 200."""
        assert self._process is not None, "start() first"
        deadline = self.started + timeout_s
        unsafe = self._await_imported(deadline)
        children = process_tree(self._process.pid)[1:]
        self._function_pid = children[0] if children else None
        if self._function_pid and self.snapshots.claim(self.service):
            if unsafe:
                print(f"localknative: {self.service} starts cold: {unsafe}", file=sys.stderr)
            else:
                self._checkpoint()
        self.handover()
        return super().wait_ready(max(1.0, deadline - time.monotonic()))

    def _checkpoint(self) -> None:
        """Dump this instance for its Service; a failure is said, and it starts cold."""
        assert self._function_pid is not None
        fd = self._env[SNAPSHOT_FD_ENV]
        inode = os.stat(f"/proc/{self._function_pid}/fd/{fd}").st_ino
        try:
            self.snapshots.dump(self.service, self._function_pid, inode)
        except (RuntimeError, subprocess.TimeoutExpired) as problem:
            print(f"localknative: {self.service} starts cold: {problem}", file=sys.stderr)

    def _await_imported(self, deadline: float) -> str:
        """Wait for the function's line; "" for ``imported``, else why it is unsafe."""
        self._channel.settimeout(0.5)
        said = b""
        while not said.endswith(b"\n"):
            if not self.running():
                code = self._process.returncode if self._process else None
                raise RuntimeError(f"{self.service} exited with code {code} before ready")
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.service} did not finish its imports in time")
            try:
                chunk = self._channel.recv(64)
            except TimeoutError:
                continue
            if not chunk:
                raise RuntimeError(f"{self.service} closed its snapshot socket before ready")
            said += chunk
            if len(said) > 64 * 1024:
                raise RuntimeError(f"{self.service} said too much on its snapshot socket")
        self._channel.settimeout(None)
        if said == IMPORTED:
            return ""
        if said.startswith(UNSAFE):
            return said[len(UNSAFE) :].decode(errors="replace").strip()
        raise RuntimeError(f"{self.service} said {said[:80]!r} on its snapshot socket")


class RestoredProcess(_HandedOver):
    """An instance restored from its Service's checkpoint by ``criu restore``, which
    stays its parent (and reaps it).

    criu blocks every signal but SIGKILL, so signals go to the function's own process
    (its PID from criu's pidfile, written before the copy resumes), and criu dies by
    SIGKILL with the platform: the copy then gets the SIGTERM it was started with as its
    parent-death signal (CRIU restores it) and drains.
    """

    death_signal = signal.SIGKILL

    def __init__(self, *args, checkpoint: Checkpoint, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.checkpoint = checkpoint
        self.work_dir = self.snapshots.work_dir(self.service)

    def start(self, log: int | None = subprocess.DEVNULL, cgroups: tuple[Path, ...] = ()):
        inherited = f"fd[{self._child_channel.fileno()}]:socket:[{self.checkpoint.channel_inode}]"
        command = [
            str(self.snapshots.criu), "restore", "-D", str(self.checkpoint.directory),
            "-W", str(self.work_dir), "-o", "restore.log", "--pidfile", "pid",
            "--manage-cgroups=ignore",
            "--inherit-fd", inherited,
        ]  # fmt: skip
        self._spawn(command, log, cgroups)
        self.handover()  # waits in the socket until the copy reads it
        return self

    def wait_ready(self, timeout_s: float = 120.0) -> float:
        """Seconds from ``criu restore`` to the copy's first 200."""
        assert self._process is not None, "start() first"
        url = self.url + self.readiness_path
        try:
            ready_s = poll_ready(self._process, url, self.started, timeout_s, self.service)
        except RuntimeError:
            raise RuntimeError(
                f"{self.service}: criu restore failed: {error_line(self.work_dir / 'restore.log')}"
            ) from None
        self._restored_pid()
        return ready_s

    def _restored_pid(self) -> int | None:
        """The copy's PID once criu wrote it (None before)."""
        if self._function_pid is None:
            with contextlib.suppress(OSError, ValueError):
                self._function_pid = int((self.work_dir / "pid").read_text()) or None
        return self._function_pid

    def _signal(self, signum: int) -> None:
        """The copy gets ``signum``; before it exists, criu gets SIGKILL (the only signal
        it takes), which ends the restore."""
        if self._restored_pid() is None:
            signum = signal.SIGKILL
        super()._signal(signum)

    def stop(self, timeout_s: float = 30.0) -> int:
        try:
            return super().stop(timeout_s)
        finally:
            shutil.rmtree(self.work_dir, ignore_errors=True)

"""Memory cgroups: limits for process instances (cgroup v1, where the machine allows it)
and what any instance's cgroup counts.

A Service's ``resources.limits.memory`` becomes ``memory.limit_in_bytes`` of a cgroup
per process instance under ``/sys/fs/cgroup/memory/binks/``; the kernel OOM-kills an
instance that goes over, as a kubelet would. Without a writable memory controller (not
root, cgroup v2 only, a container), limits are reported as not applied and instances
run unlimited. ``counts_of`` reads the memory cgroup of any process, v1 or v2: a
container's, which podman creates, for ``binks ps`` and the bench.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from pathlib import Path

ROOT = Path("/sys/fs/cgroup/memory/binks")


def available() -> bool:
    """True if we can create memory cgroups here."""
    try:
        ROOT.mkdir(parents=True, exist_ok=True)
        return (ROOT / "cgroup.procs").exists()
    except OSError:
        return False


def limit(name: str, pids: list[int], limit_bytes: int) -> Path | None:
    """Put ``pids`` in a fresh memory cgroup capped at ``limit_bytes``; None if not possible."""
    if not available():
        return None
    group = ROOT / name
    try:
        group.mkdir(exist_ok=True)
        (group / "memory.limit_in_bytes").write_text(str(limit_bytes))
        with contextlib.suppress(OSError):  # no swap accounting on some kernels
            (group / "memory.memsw.limit_in_bytes").write_text(str(limit_bytes))
        for pid in pids:
            with contextlib.suppress(ProcessLookupError, OSError):
                (group / "cgroup.procs").write_text(str(pid))
    except OSError:
        return None
    return group


def remove(group: Path | None) -> None:
    """Delete an instance's cgroup once its processes are gone."""
    if group is not None:
        with contextlib.suppress(OSError):
            group.rmdir()


def counts_of(pid: int) -> dict[str, int]:
    """What the memory cgroup of process ``pid`` counts, in bytes: ``usage``, ``rss``
    (anonymous), ``cache`` (page cache), ``peak`` and ``limit``; {} once it is gone.
    cgroup v1 and v2 alike."""
    try:
        lines = Path(f"/proc/{pid}/cgroup").read_text().splitlines()
    except OSError:
        return {}
    v1 = [line.split(":", 2)[2] for line in lines if line.split(":")[1:2] == ["memory"]]
    v2 = [line.split(":", 2)[2] for line in lines if line.startswith("0::")]
    if v1:
        return counts(Path("/sys/fs/cgroup/memory") / v1[0].lstrip("/"))
    if v2:
        return _read_v2(Path("/sys/fs/cgroup") / v2[0].lstrip("/"))
    return {}


def counts(group: Path) -> dict[str, int]:
    """What a cgroup v1 memory group counts (see ``counts_of``); {} once it is gone."""
    try:
        stat = _stat(group / "memory.stat")
        return {
            "usage": int((group / "memory.usage_in_bytes").read_text()),
            "rss": stat.get("total_rss", stat.get("rss", 0)),
            "cache": stat.get("total_cache", stat.get("cache", 0)),
            "peak": int((group / "memory.max_usage_in_bytes").read_text()),
            "limit": int((group / "memory.limit_in_bytes").read_text()),
        }
    except (OSError, ValueError):
        return {}


def _read_v2(group: Path) -> dict[str, int]:
    try:
        stat = _stat(group / "memory.stat")
        limit = (group / "memory.max").read_text().strip()
        peak = group / "memory.peak"
        return {
            "usage": int((group / "memory.current").read_text()),
            "rss": stat.get("anon", 0),
            "cache": stat.get("file", 0),
            "peak": int(peak.read_text()) if peak.exists() else 0,
            "limit": int(limit) if limit.isdigit() else 0,
        }
    except (OSError, ValueError):
        return {}


def _stat(path: Path) -> dict[str, int]:
    return {
        key: int(value)
        for key, value in (line.split() for line in path.read_text().splitlines() if " " in line)
    }


#: Per-instance pids cgroups (v1) of snapshot start: they find every process an instance
#: left, whatever its parent, e.g. a copy criu was half-way restoring when it died.
PIDS_ROOT = Path("/sys/fs/cgroup/pids/binks")


def track(name: str) -> Path | None:
    """A new, empty pids cgroup ``name`` to start an instance in; None where cgroups
    cannot be written (the instance runs untracked)."""
    group = PIDS_ROOT / name
    try:
        group.mkdir(parents=True, exist_ok=True)
        return group if (group / "cgroup.procs").exists() else None
    except OSError:
        return None


def kill_tracked(group: Path | None, timeout_s: float = 10.0) -> list[int]:
    """SIGKILL every process still in ``group``, wait until it is empty (at most
    ``timeout_s``) and remove it; the pids that were killed."""
    if group is None:
        return []
    killed: list[int] = []
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            pids = [int(p) for p in (group / "cgroup.procs").read_text().split()]
        except OSError:
            return killed  # gone already
        if not pids or time.monotonic() > deadline:
            break
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            if pid not in killed:
                killed.append(pid)
        time.sleep(0.01)  # the kernel empties the group as each one exits
    with contextlib.suppress(OSError):
        group.rmdir()
    return killed


def sweep_orphans() -> list[int]:
    """Kill what platforms that died left in their pids cgroups (folders
    ``platform-<pid>`` whose platform is gone: a copy half-restored when the platform
    was killed has no parent to end it); the pids killed."""
    killed: list[int] = []
    with contextlib.suppress(OSError):
        for folder in PIDS_ROOT.glob("platform-*"):
            owner = folder.name.removeprefix("platform-")
            if not owner.isdigit() or Path(f"/proc/{owner}").exists():
                continue
            for group in folder.iterdir():
                if group.is_dir():
                    killed += kill_tracked(group)
            with contextlib.suppress(OSError):
                folder.rmdir()
    return killed

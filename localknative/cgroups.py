"""Memory limits for instances through cgroup v1, where the machine allows it.

A Service's ``resources.limits.memory`` becomes ``memory.limit_in_bytes`` of a
cgroup per instance under ``/sys/fs/cgroup/memory/binks/``; the kernel OOM-kills
an instance that goes over, as a kubelet would. Without a writable memory
controller (not root, cgroup v2 only, a container), limits are reported as not
applied and instances run unlimited.
"""

from __future__ import annotations

import contextlib
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

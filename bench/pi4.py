"""``--profile pi4``: how many instances of a function fit on a Raspberry Pi 4 node.

Instances start one after another inside one cgroup v1 memory budget of 4 GiB (the
Pi 4's RAM; the kubelet and OS would take some of it on a real node, so this is an
upper bound) and a CPU quota of 4 cores (the Pi's count; on a machine with fewer
cores the quota does not bind, and the results say so). Spawning stops when the
kernel OOM-kills an instance, one fails to become ready, or a cap is reached.
Where cgroups cannot be written (not root, cgroup v2 only), nothing is measured
and the results say why.
"""

from __future__ import annotations

import contextlib
import os
import time
from pathlib import Path
from typing import Any

from binks.processes import FunctionProcess, FunctionSpec

BUDGET_BYTES = 4 * 2**30
PI_CORES = 4
MEMORY = Path("/sys/fs/cgroup/memory")
CPU = Path("/sys/fs/cgroup/cpu")


def _group(root: Path, name: str) -> Path | None:
    group = root / name
    try:
        group.mkdir(exist_ok=True)
        return group if (group / "cgroup.procs").exists() else None
    except OSError:
        return None


def _oom_kills(group: Path) -> int:
    with contextlib.suppress(OSError):
        for line in (group / "memory.oom_control").read_text().splitlines():
            if line.startswith("oom_kill "):
                return int(line.split()[1])
    return 0


def max_instances(
    spec: FunctionSpec, env: dict[str, str], cap: int = 80, time_cap_s: float = 300
) -> dict[str, Any]:
    """Start instances of ``spec`` in the budget until one is OOM-killed or fails."""
    name = f"binks-pi4-{spec.service}-{os.getpid()}"
    memory, cpu = _group(MEMORY, name), _group(CPU, name)
    if memory is None:
        return {"measured": False, "reason": "cgroup v1 memory controller not writable here"}
    (memory / "memory.limit_in_bytes").write_text(str(BUDGET_BYTES))
    cpu_note = "not applied (no writable cpu controller)"
    if cpu is not None:
        (cpu / "cpu.cfs_period_us").write_text("100000")
        (cpu / "cpu.cfs_quota_us").write_text(str(PI_CORES * 100000))
        binding = "binds" if (os.cpu_count() or 1) > PI_CORES else "does not bind"
        cpu_note = f"{PI_CORES} cores quota ({binding}: this machine has {os.cpu_count()})"
    groups = tuple(g for g in (memory, cpu) if g is not None)
    instances: list[FunctionProcess] = []
    ready_s: list[float] = []
    stopped_by = f"cap of {cap} instances"
    started = time.monotonic()
    try:
        while len(instances) < cap:
            if time.monotonic() - started > time_cap_s:
                stopped_by = f"time cap of {time_cap_s:.0f} s"
                break
            instance = FunctionProcess(spec, env=env).start(cgroups=groups)
            instances.append(instance)
            try:
                ready_s.append(instance.wait_ready(timeout_s=120))
            except (RuntimeError, TimeoutError) as problem:
                stopped_by = f"instance {len(instances)} failed: {problem}"
                break
            dead = [i for i in instances if not i.running()]
            if dead or _oom_kills(memory):
                stopped_by = f"the kernel OOM-killed {max(len(dead), _oom_kills(memory))}"
                break
        usage = int((memory / "memory.max_usage_in_bytes").read_text())
        alive = sum(1 for i in instances if i.running())
        oom = _oom_kills(memory)
    finally:
        for instance in instances:
            instance.stop(timeout_s=10)
        for group in groups:
            with contextlib.suppress(OSError):
                time.sleep(0.2)
                group.rmdir()
    return {
        "measured": True,
        "budget_mib": BUDGET_BYTES / 2**20,
        "cpu": cpu_note,
        "max_concurrent_instances": alive,
        "spawned": len(instances),
        "oom_kills": oom,
        "stopped_by": stopped_by,
        "peak_usage_mib": usage / 2**20,
        "ready_s": ready_s,
        # not measured yet: OOM failures and queue latency under a burst of events
        "burst": None,
    }

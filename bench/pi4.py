"""``--profile pi4``: how many instances of a function fit on a Raspberry Pi 4 node.

Instances start one after another inside one cgroup v1 memory budget of 4 GiB (the
Pi 4's RAM; the kubelet and OS would take some of it on a real node, so this is an
upper bound) and a CPU quota of 4 cores (the Pi's count; on a machine with fewer
cores the quota does not bind, and the results say so). Spawning stops when the
kernel OOM-kills an instance, one fails to become ready, or a cap is reached.

Then a burst: the platform itself runs in the same budget, one Service with
``containerConcurrency: 1`` and a ``max-scale`` of the burst's size (no per-instance
limit, so instances share the node's budget as pods share a node), and N events
arrive at once at zero scale. Measured: how many got an answer, how many failed,
the kernel's OOM kills, and the time from sending to the reply (queueing included).
Where cgroups cannot be written (not root, cgroup v2 only), nothing is measured
and the results say why.
"""

from __future__ import annotations

import contextlib
import os
import time
from pathlib import Path
from typing import Any

from localknative.instances import FunctionProcess, FunctionSpec

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
    memory, groups, cpu_note = _budget(f"binks-pi4-{spec.service}-{os.getpid()}")
    if memory is None:
        return {"measured": False, "reason": "cgroup v1 memory controller not writable here"}
    instances: list[FunctionProcess] = []
    ready_s: list[float] = []
    fitted = 0
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
                stopped_by = (
                    f"instance {len(instances)}: the kernel OOM-killed "
                    f"{max(len(dead), _oom_kills(memory))} process(es)"
                )
                break
            fitted = len(instances)  # all ready, nothing killed: these fit together
        usage = int((memory / "memory.max_usage_in_bytes").read_text())
        oom = _oom_kills(memory)
    finally:
        for instance in instances:
            instance.stop(timeout_s=10)
        _remove(groups)
    return {
        "measured": True,
        "budget_mib": BUDGET_BYTES / 2**20,
        "cpu": cpu_note,
        "max_concurrent_instances": fitted,
        "spawned": len(instances),
        "oom_kills": oom,
        "stopped_by": stopped_by,
        "peak_usage_mib": usage / 2**20,
        "ready_s": ready_s,
    }


def _budget(name: str) -> tuple[Path | None, tuple[Path, ...], str]:
    """A 4 GiB memory cgroup (and a 4-core CPU quota where possible) named ``name``."""
    memory, cpu = _group(MEMORY, name), _group(CPU, name)
    if memory is None:
        return None, (), ""
    (memory / "memory.limit_in_bytes").write_text(str(BUDGET_BYTES))
    cpu_note = "not applied (no writable cpu controller)"
    if cpu is not None:
        (cpu / "cpu.cfs_period_us").write_text("100000")
        (cpu / "cpu.cfs_quota_us").write_text(str(PI_CORES * 100000))
        binding = "binds" if (os.cpu_count() or 1) > PI_CORES else "does not bind"
        cpu_note = f"{PI_CORES} cores quota ({binding}: this machine has {os.cpu_count()})"
    return memory, tuple(g for g in (memory, cpu) if g is not None), cpu_note


def _remove(groups: tuple[Path, ...]) -> None:
    for group in groups:
        with contextlib.suppress(OSError):
            time.sleep(0.2)
            group.rmdir()


def burst(spec: FunctionSpec, env: dict[str, str], events: int = 40) -> dict[str, Any]:
    """N events at once at a Service at zero scale, platform and instances in the budget."""
    import tempfile
    from collections import Counter
    from concurrent.futures import ThreadPoolExecutor

    import yaml

    from bench.functions import bench_manifests, invoke, request_for
    from bench.probes import percentile
    from localknative.launch import start_platform

    memory, groups, cpu_note = _budget(f"binks-pi4-burst-{spec.service}-{os.getpid()}")
    if memory is None:
        return {"measured": False, "reason": "cgroup v1 memory controller not writable here"}
    state = Path(tempfile.mkdtemp(prefix="binks-pi4-"))
    manifests = bench_manifests(state / "manifests")
    documents = [
        d
        for d in yaml.safe_load_all((manifests / "bench.yaml").read_text())
        if d["kind"] == "Broker" or d["metadata"]["name"] == spec.service
    ]
    for d in documents:
        if d["kind"] == "Service":
            template = d["spec"]["template"]
            template["metadata"]["annotations"]["autoscaling.knative.dev/max-scale"] = str(events)
            template["spec"]["containerConcurrency"] = 1
            template["spec"]["containers"][0].get("resources", {}).pop("limits", None)
    (manifests / "bench.yaml").write_text(yaml.safe_dump_all(documents))
    options = ["--manifests", str(manifests), "--window", "60"]
    event_type, data = request_for(spec.role, spec.variant)
    url = ""  # set once the platform runs

    def one(_: int) -> tuple[str, float]:
        started = time.perf_counter()
        try:
            invoke(url, spec.service, event_type, data)
            return "ok", time.perf_counter() - started
        except Exception as problem:  # an HTTP error or a dropped connection: a failure
            return getattr(problem, "code", type(problem).__name__), time.perf_counter() - started

    with (state / "platform.log").open("ab") as log:
        platform = start_platform(state, *options, env=env, log=log.fileno(), cgroups=groups)
    url = platform.url
    try:
        with ThreadPoolExecutor(max_workers=events) as pool:
            outcomes = list(pool.map(one, range(events)))
        peak = int((memory / "memory.max_usage_in_bytes").read_text())
        oom = _oom_kills(memory)
    finally:
        platform.stop(60)
        _remove(groups)
    answered = [seconds for outcome, seconds in outcomes if outcome == "ok"]
    return {
        "measured": True,
        "events": events,
        "answered": len(answered),
        "failed": events - len(answered),
        "failures": dict(Counter(str(o) for o, _ in outcomes if o != "ok")),
        "oom_kills": oom,
        "peak_usage_mib": peak / 2**20,
        "latency_p50_s": percentile(answered, 50) if answered else None,
        "latency_p99_s": percentile(answered, 99) if answered else None,
        "cpu": cpu_note,
    }

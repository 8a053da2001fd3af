"""``--profile pi4``: how many instances of a function fit on a Raspberry Pi 4 node, as
processes and (``--runtime container``) as containers.

Instances start one after another inside one cgroup v1 memory budget of 4 GiB (the
Pi 4's RAM; the kubelet and OS would take some of it on a real node, so this is an
upper bound) and a CPU quota of 4 cores (the Pi's count; on a machine with fewer
cores the quota does not bind, and the results say so). Processes join the budget's
groups; containers get it as their ``--cgroup-parent``, so their cgroups nest under it
and count against it (conmon's group too: podman puts it there). Spawning stops when
the kernel OOM-kills an instance (an exit by SIGKILL we did not send, or an
``oom_kill`` counted anywhere in the budget), one fails to become ready, or a cap
(instances or time) is reached; the result says which. Both runtimes and both
variants follow one rule: no per-instance limit or CPU request, the instances share
the node's budget as pods share a node.

Then a burst: the platform itself runs in the same budget (with ``--runtime container
--cgroup-parent`` the containers nest under it too, and the podman clients, the
platform's children, are in it), one Service with ``containerConcurrency: 1`` and a
``max-scale`` of the burst's size, and N events arrive at once at zero scale.
Measured: how many got an answer, how many failed, the kernel's OOM kills, and the
time from sending to the reply (queueing included). Where cgroups cannot be written
(not root, cgroup v2 only), nothing is measured and the results say why. Every
container and cgroup made here is removed on the way out, failure or not.
"""

from __future__ import annotations

import contextlib
import functools
import os
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import containers as bench_containers
from localknative import containers
from localknative.containers import FunctionContainer
from localknative.instances import FunctionProcess, FunctionSpec
from localknative.paths import WORKSPACE

BUDGET_BYTES = 4 * 2**30
PI_CORES = 4
CGROUP = Path("/sys/fs/cgroup")
MEMORY = CGROUP / "memory"
CPU = CGROUP / "cpu"
#: Bounds of one max_instances run (per runtime and variant): high enough that agno's
#: limit is found, not the cap (~50-80 instances of 55-80 MiB fit in 4 GiB), and time
#: for that many container starts on a slow machine.
CAP = 200
TIME_CAP_S = 1200.0
#: How long a cgroup may stay busy after its processes were stopped (podman removes a
#: container's group after the container exits, conmon's a little later).
REMOVE_TIMEOUT_S = 30.0
NOT_WRITABLE = {"measured": False, "reason": "cgroup v1 memory controller not writable here"}
#: What each runtime's budget holds, for the reader.
IN_BUDGET = {
    "process": "the instances' processes",
    "container": "the containers and conmon (one per container); not the podman clients",
}
IN_BURST_BUDGET = {
    "process": "the platform and the instances' processes",
    "container": "the platform, conmon (one per container) and the containers; not the podman "
    "clients (the platform moves them out: a kubelet keeps no process per container)",
}

Instance = FunctionProcess | FunctionContainer
#: Exit statuses of an instance killed by SIGKILL: podman's (128 + 9), a process's.
SIGKILLED = (137, -9)


@dataclass(frozen=True)
class Budget:
    """A node's budget: a 4 GiB memory cgroup (and a 4-core CPU quota where possible)."""

    name: str
    memory: Path
    groups: tuple[Path, ...]  # what a process joins: the memory (and cpu) group
    cpu: str  # whether the CPU quota applies and binds, in words

    @property
    def parent(self) -> str:
        """The budget as podman's ``--cgroup-parent`` (cgroupfs: a path from the root)."""
        return f"/{self.name}"

    def peak_mib(self) -> float:
        """The budget's peak usage so far, MiB."""
        return int((self.memory / "memory.max_usage_in_bytes").read_text()) / 2**20

    def oom_kills(self) -> int:
        """OOM kills counted in the budget and every group under it (cgroup v1 counts a
        kill in the victim's own group: a container's, not the budget's)."""
        total = 0
        for control in (self.memory, *self.memory.rglob("*/")):
            with contextlib.suppress(OSError):
                for line in (control / "memory.oom_control").read_text().splitlines():
                    if line.startswith("oom_kill "):
                        total += int(line.split()[1])
        return total


def _group(root: Path, name: str) -> Path | None:
    group = root / name
    try:
        group.mkdir(exist_ok=True)
        return group if (group / "cgroup.procs").exists() else None
    except OSError:
        return None


@contextlib.contextmanager
def budget(name: str) -> Iterator[Budget | None]:
    """A budget named ``name`` (None where cgroups cannot be written), removed on the
    way out with every group made under it, in every controller."""
    memory, cpu = _group(MEMORY, name), _group(CPU, name)
    try:
        if memory is None:
            yield None
            return
        (memory / "memory.limit_in_bytes").write_text(str(BUDGET_BYTES))
        note = "not applied (no writable cpu controller)"
        if cpu is not None:
            (cpu / "cpu.cfs_period_us").write_text("100000")
            (cpu / "cpu.cfs_quota_us").write_text(str(PI_CORES * 100000))
            binding = "binds" if (os.cpu_count() or 1) > PI_CORES else "does not bind"
            note = f"{PI_CORES} cores quota ({binding}: this machine has {os.cpu_count()})"
        yield Budget(name, memory, tuple(g for g in (memory, cpu) if g is not None), note)
    finally:
        remove_groups(name)


def remove_groups(name: str, timeout_s: float = REMOVE_TIMEOUT_S) -> list[Path]:
    """Remove ``/sys/fs/cgroup/*/NAME`` and the groups under it (podman's libpod-* and
    conmon), deepest first; retried until ``timeout_s`` while a group is still busy.
    What could not be removed (empty when all went)."""
    deadline = time.monotonic() + timeout_s
    while True:
        left = []
        for top in sorted(CGROUP.glob(f"*/{name}")):
            groups = sorted(top.rglob("*/"), key=lambda p: len(p.parts), reverse=True)
            for group in (*groups, top):
                try:
                    group.rmdir()
                except FileNotFoundError:
                    pass
                except OSError:
                    left.append(group)
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.2)  # a retry interval: the groups' processes are exiting


@functools.cache
def _image(service: str) -> str:
    """The Service's image as its manifest names it (read once per service)."""
    return bench_containers.services()[service].image


def _start(
    spec: FunctionSpec,
    env: dict[str, str],
    runtime: str,
    node: Budget,
    state: Path,
    label: str | None,
) -> Instance:
    """One instance in the budget, no limit of its own (the same rule for both runtimes)."""
    if runtime == "process":
        return FunctionProcess(spec, env=env).start(cgroups=node.groups)
    container = FunctionContainer(
        spec,
        _image(spec.service),
        env=env,
        workspace=WORKSPACE,
        state_dir=state,
        owner=label or "",
        cgroup_parent=node.parent,
    )
    return container.start()


def _killed(instances: list[Instance], node: Budget) -> tuple[str | None, int]:
    """Why the run must stop if an instance died or the kernel killed anything (else
    None), and how many OOM kills that makes: the kernel's count in the budget's groups
    or the instances gone by a SIGKILL we did not send, whichever is more (a container's
    group, and its count, goes with the container)."""
    dead = [i for i in instances if not i.running()]
    oom = node.oom_kills()
    if not dead and not oom:
        return None, 0
    codes = [i.stop(timeout_s=1) for i in dead]  # gone already: their exit codes
    killed = max(oom, sum(code in SIGKILLED for code in codes))
    what = f"the kernel OOM-killed {killed} instance(s)" if killed else f"{len(dead)} died"
    why = f"instance {len(instances)}: {what} (exit codes {sorted(set(codes))}, oom_kill {oom})"
    return why, killed


def max_instances(
    spec: FunctionSpec,
    env: dict[str, str],
    runtime: str = "process",
    cap: int = CAP,
    time_cap_s: float = TIME_CAP_S,
) -> dict[str, Any]:
    """Start instances of ``spec`` on ``runtime`` in the budget until one is OOM-killed
    or fails, or a cap is reached."""
    name = f"binks-pi4-{runtime}-{spec.service}-{os.getpid()}"
    label = bench_containers.owner() if runtime == "container" else None
    instances: list[Instance] = []
    ready_s: list[float] = []
    fitted, stopped_by, killed = 0, f"cap of {cap} instances", 0
    with (
        budget(name) as node,
        bench_containers.cleanup(label),  # exits first: containers go before their groups
        tempfile.TemporaryDirectory(prefix="binks-pi4-") as state,
    ):
        if node is None:
            return NOT_WRITABLE
        started = time.monotonic()
        try:
            while len(instances) < cap:
                if time.monotonic() - started > time_cap_s:
                    stopped_by = f"time cap of {time_cap_s:.0f} s"
                    break
                instances.append(_start(spec, env, runtime, node, Path(state), label))
                try:
                    ready_s.append(instances[-1].wait_ready(timeout_s=120))
                except (RuntimeError, TimeoutError) as problem:
                    why, killed = _killed(instances, node)
                    stopped_by = why or f"instance {len(instances)} failed to start: {problem}"
                    break
                why, killed = _killed(instances, node)
                if why:
                    stopped_by = why
                    break
                fitted = len(instances)  # all ready, nothing killed: these fit together
            elapsed = time.monotonic() - started
            peak, oom = node.peak_mib(), max(killed, node.oom_kills())
        finally:
            for instance in instances:
                instance.stop(timeout_s=10)
    return {
        "measured": True,
        "runtime": runtime,
        "budget_mib": BUDGET_BYTES / 2**20,
        "in_budget": IN_BUDGET[runtime],
        "cpu": node.cpu,
        "max_concurrent_instances": fitted,
        "spawned": len(instances),
        "oom_kills": oom,
        "stopped_by": stopped_by,
        "caps": {"instances": cap, "time_s": time_cap_s},
        "elapsed_s": elapsed,
        "peak_usage_mib": peak,
        "ready_s": ready_s,
    }


def burst_manifests(directory: Path, spec: FunctionSpec, events: int) -> Path:
    """The bench manifests with only ``spec``'s Service: ``max-scale`` ``events``,
    ``containerConcurrency`` 1, no resources (the node's budget is the only limit)."""
    import yaml

    from bench.functions import bench_manifests

    manifests = bench_manifests(directory)
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
            template["spec"]["containers"][0].pop("resources", None)
    (manifests / "bench.yaml").write_text(yaml.safe_dump_all(documents))
    return manifests


def burst(
    spec: FunctionSpec,
    env: dict[str, str],
    events: int = 40,
    runtime: str = "process",
    start: str = "cold",
) -> dict[str, Any]:
    """N events at once at a Service at zero scale, platform and instances in the budget.
    ``start="snapshot"``: one event first takes the checkpoint; once the Service is back
    at zero (a 5 s window instead of 60), the burst is served by restored copies."""
    from bench.functions import _ps, invoke, request_for, wait_for_zero
    from localknative.launch import start_platform

    name = f"binks-pi4-burst-{runtime}-{start}-{spec.service}-{os.getpid()}"
    with budget(name) as node, tempfile.TemporaryDirectory(prefix="binks-pi4-") as directory:
        if node is None:
            return NOT_WRITABLE
        state = Path(directory)
        options = ["--manifests", str(burst_manifests(state / "manifests", spec, events))]
        options += ["--window", "60" if start == "cold" else "5", "--runtime", runtime]
        options += ["--start", start]
        options += ["--cgroup-parent", node.parent] if runtime == "container" else []
        event_type, data = request_for(spec.role, spec.variant)
        with (state / "platform.log").open("ab") as log:
            platform = start_platform(
                state, *options, env=env, log=log.fileno(), cgroups=node.groups
            )
        try:
            if start == "snapshot":
                invoke(platform.url, spec.service, event_type, data)
                wait_for_zero(platform, spec.service)
            outcomes = _send_at_once(
                events, lambda: invoke(platform.url, spec.service, event_type, data)
            )
            # instances that died, any cause: a container's OOM count goes with its group
            died = _ps(platform, spec.service)["restarts"]
            counts = {"oom_kills": node.oom_kills(), "instances_died": died}
            peak = node.peak_mib()
        finally:
            platform.stop(60)
            if runtime == "container":  # what a platform that failed to stop left
                containers.remove_leftovers(str(state / "containers" / "functions"))
    return {**_burst_result(outcomes, events, runtime, peak, counts, node.cpu), "start": start}


def _send_at_once(events: int, send: Any) -> list[tuple[str, float]]:
    """``send()`` ``events`` times at once; (outcome, seconds) of each: "ok", an HTTP
    status or the exception's name."""
    from concurrent.futures import ThreadPoolExecutor

    def one(_: int) -> tuple[str, float]:
        started = time.perf_counter()
        try:
            send()
            return "ok", time.perf_counter() - started
        except Exception as problem:  # an HTTP error or a dropped connection: a failure
            return getattr(problem, "code", type(problem).__name__), time.perf_counter() - started

    with ThreadPoolExecutor(max_workers=events) as pool:
        return list(pool.map(one, range(events)))


def _burst_result(
    outcomes: list[tuple[str, float]],
    events: int,
    runtime: str,
    peak: float,
    counts: dict[str, int],
    cpu: str,
) -> dict[str, Any]:
    from collections import Counter

    from bench.probes import percentile

    answered = [seconds for outcome, seconds in outcomes if outcome == "ok"]
    return {
        "measured": True,
        "runtime": runtime,
        "in_budget": IN_BURST_BUDGET[runtime],
        "events": events,
        "answered": len(answered),
        "failed": events - len(answered),
        "failures": dict(Counter(str(o) for o, _ in outcomes if o != "ok")),
        **counts,
        "peak_usage_mib": peak,
        "latency_p50_s": percentile(answered, 50) if answered else None,
        "latency_p99_s": percentile(answered, 99) if answered else None,
        "cpu": cpu,
    }

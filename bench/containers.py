"""Per function × variant in a container (``binks bench --runtime container``): the
Service's image under podman with the manifest's memory limit and CPU request, as a
node runs it, measured beside the bare process in the same run.

- create → ready: ``podman run`` → the first readiness 200 (an image already on the
  node: nothing is pulled), CPU seconds to ready from the container's cpuacct cgroup,
  idle memory as its memory cgroup counts it (usage, anonymous rss, page cache);
- through a platform with ``--runtime container``: event at zero → reply, warm latency
  and the cgroup's peak (``bench.functions.event_samples``);
- what the container adds over the process, per figure, with what exactly is compared.
"""

from __future__ import annotations

import contextlib
import secrets
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bench.functions import IDLE_SETTLE_S
from localknative import containers
from localknative.containers import FunctionContainer
from localknative.instances import FunctionSpec
from localknative.manifests import Service, load
from localknative.paths import MANIFESTS, WORKSPACE

MIB = 2**20
CGROUP = Path("/sys/fs/cgroup")
#: What each overhead figure subtracts (container minus process, medians): the key in
#: the container's summary, the key in the process's, and the words the page shows.
COMPARED: dict[str, tuple[str, str, str]] = {
    "ready_s": (
        "ready_s",
        "ready_s",
        "`podman run` → first readiness 200, minus spawn → first readiness 200",
    ),
    "cpu_s": (
        "cpu_s",
        "cpu_s",
        "the container's cpuacct cgroup at ready, minus the process tree's utime + stime "
        "at ready (podman's and conmon's own CPU is in neither)",
    ),
    "event_at_zero_s": (
        "event_at_zero_s",
        "event_at_zero_s",
        "event at zero → reply through a platform with --runtime container, minus one "
        "with processes",
    ),
    "warm_p50_s": ("warm_p50_s", "warm_p50_s", "warm event p50, container minus process"),
    "idle_usage_vs_rss_mib": (
        "idle_usage_mib",
        "idle_rss_mib",
        "the idle container's cgroup usage (anonymous + the page cache it was charged + "
        "kernel), minus the idle process's RSS (anonymous + file-mapped)",
    ),
    "idle_rss_vs_rss_mib": (
        "idle_rss_mib",
        "idle_rss_mib",
        "the idle container's cgroup rss (anonymous pages only), minus the idle process's "
        "RSS (anonymous + file-mapped, shared libraries included)",
    ),
}


def services(directory: Path = MANIFESTS) -> dict[str, Service]:
    """The manifests' Services by name: the image, memory limit and CPU request of each."""
    return {service.name: service for service in load(directory).services.values()}


def owner() -> str:
    """A label value of this bench run's containers: what a failed run left behind
    is removed by it (``cleanup``), and nothing else."""
    return f"binks-bench-{secrets.token_hex(6)}"


@contextlib.contextmanager
def cleanup(label: str | None) -> Iterator[None]:
    """Remove every container labelled ``label`` on the way out, failure or not; nothing
    for None (a process-only run: podman need not be installed)."""
    try:
        yield
    finally:
        if label is not None:
            containers.remove_leftovers(label)


def require_images(images: list[str]) -> None:
    """ContainerError before anything is measured when podman or an image is missing
    (nothing is pulled), naming the command that builds them."""
    containers.check_podman()
    missing = containers.missing_images(images)
    if missing:
        names = " ".join(image.rsplit("/", 1)[-1].split(":")[0] for image in missing)
        raise containers.ContainerError(
            f"bench --runtime container: not built here: {', '.join(missing)}; build them "
            f'with: make images PLATFORMS=linux/{containers.host_arch()} ONLY="{names}"'
        )


def cgroup_cpu_seconds(pid: int) -> float | None:
    """CPU seconds the cgroup of process ``pid`` has used so far (all its processes):
    cgroup v1 ``cpuacct.usage`` (ns), or v2 ``cpu.stat`` ``usage_usec``; None if neither
    can be read (the process is gone)."""
    try:
        lines = Path(f"/proc/{pid}/cgroup").read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        _, controllers, path = line.split(":", 2)
        if "cpuacct" in controllers.split(","):
            # mounted alone (cpuacct) or together with cpu (cpu,cpuacct)
            for mount in (controllers, "cpuacct", "cpu,cpuacct"):
                usage = CGROUP / mount / path.lstrip("/") / "cpuacct.usage"
                with contextlib.suppress(OSError, ValueError):
                    return int(usage.read_text()) / 1e9
    for line in lines:  # cgroup v2: the unified hierarchy's line is "0::PATH"
        if line.startswith("0::"):
            stat = CGROUP / line[3:].lstrip("/") / "cpu.stat"
            with contextlib.suppress(OSError, ValueError):
                for row in stat.read_text().splitlines():
                    if row.startswith("usage_usec "):
                        return int(row.split()[1]) / 1e6
    return None


def spawn_sample(
    spec: FunctionSpec, env: dict[str, str], service: Service, state: Path, label: str
) -> dict[str, float]:
    """One cold start in a container: ``podman run`` → readiness, CPU seconds of its
    cgroup to get there, idle memory after the same settle as a process (MiB)."""
    instance = FunctionContainer(
        spec,
        service.image,
        env=env,
        memory_limit_bytes=service.memory_limit_bytes,
        cpu_request_millis=service.cpu_request_millis,
        cpu_limit_millis=service.cpu_limit_millis,
        workspace=WORKSPACE,
        state_dir=state,
        owner=label,
    )
    with instance:
        ready_s = instance.wait_ready()
        cpu = cgroup_cpu_seconds(instance.pid)
        time.sleep(IDLE_SETTLE_S)  # the settle a process gets too: a measurement, not a wait
        idle = instance.memory()
    if cpu is None or not idle:
        raise RuntimeError(f"{spec.service}: its container's cgroup could not be read")
    return {
        "ready_s": ready_s,
        "cpu_s": cpu,
        "idle_usage_mib": idle["usage"] / MIB,
        "idle_rss_mib": idle["rss"] / MIB,
        "idle_cache_mib": idle["cache"] / MIB,
    }


def settings(service: Service) -> dict[str, Any]:
    """What a container of ``service`` runs under: its image, memory limit, CPU request."""
    limit = service.memory_limit_bytes
    return {
        "image": service.image,
        "memory_limit_mib": limit / MIB if limit else None,
        "cpu_request_millis": service.cpu_request_millis,
        "cpu_limit_millis": service.cpu_limit_millis,
    }


def _median(summary: dict[str, Any], key: str) -> float | None:
    value = summary.get(key)
    return value["median"] if isinstance(value, dict) else value


def overhead(processes: dict[str, Any], in_containers: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Per service: what the container adds over the bare process, figure by figure
    (medians, container minus process), each with what exactly it compares."""
    out: dict[str, dict[str, Any]] = {}
    for service, entry in in_containers.items():
        process = processes.get(service, {}).get("summary", {})
        rows = {}
        for name, (container_key, process_key, words) in COMPARED.items():
            c, p = _median(entry["summary"], container_key), _median(process, process_key)
            if c is not None and p is not None:
                rows[name] = {"container": c, "process": p, "added": c - p, "compares": words}
        out[service] = rows
    return out

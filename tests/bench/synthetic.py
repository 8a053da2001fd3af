"""A small results document built from made-up samples by the bench's own summaries:
one function, both variants, processes and (optionally) containers, images, pi4."""

from __future__ import annotations

from typing import Any

from bench import containers, suite

MIB = 2**20


def _process(ready: float, memory: float) -> dict[str, list]:
    spawn = [
        {
            "ready_s": ready + d,
            "cpu_s": ready,
            "idle_rss_mib": memory + 10,
            "idle_pss_mib": memory,
            "idle_uss_mib": memory - 5,
            "idle_peak_rss_mib": memory + 10,
        }
        for d in (0.0, 0.1, 0.2)
    ]
    events = [
        {"event_at_zero_s": ready + 0.3, "warm_s": [0.1, 0.2], "peak_rss_mib": memory + 20}
    ] * 3
    return {"spawn": spawn, "events": events}


def _container(ready: float, memory: float) -> dict[str, list]:
    spawn = [
        {
            "ready_s": ready + 0.5 + d,
            "cpu_s": ready + 0.1,
            "idle_usage_mib": memory + 4,
            "idle_rss_mib": memory,
            "idle_cache_mib": 2.0,
        }
        for d in (0.0, 0.1, 0.2)
    ]
    events = [
        {"event_at_zero_s": ready + 0.9, "warm_s": [0.1, 0.3], "peak_usage_mib": memory + 30}
        | {"rss_mib": memory + 2}
    ] * 3
    return {"spawn": spawn, "events": events}


def _image(gzip_mib: float, stale: bool) -> dict[str, Any]:
    size = {
        "uncompressed": int(3 * gzip_mib * MIB),
        "gzip": int(gzip_mib * MIB),
        "zstd": int(0.9 * gzip_mib * MIB),
        "layers": {"base": 100 * MIB, "dependencies": int(2 * gzip_mib * MIB), "code": MIB},
        "layers_gzip": {"base": 38 * MIB, "dependencies": int(gzip_mib * MIB), "code": MIB // 4},
        "layers_zstd": {"base": 32 * MIB, "dependencies": int(gzip_mib * MIB), "code": MIB // 4},
        "id": "0" * 64,
    }
    entry = {"measured": True, "arches": {"amd64": size, "arm64": size}, "host_arch": "amd64"}
    if stale:
        return entry | {"stale": True, "stale_reason": "rebuilt since: run make image-sizes"}
    return entry | {"stale": False}


def _node(runtime: str, fitted: int, stopped_by: str) -> dict[str, Any]:
    burst = {"measured": True, "runtime": runtime, "in_budget": "the platform and more"}
    burst |= {"events": 4, "answered": 4, "failed": 0, "failures": {}, "oom_kills": 0}
    burst |= {"instances_died": 0, "peak_usage_mib": 300.0}
    burst |= {"latency_p50_s": 1.5, "latency_p99_s": 2.5, "cpu": "4 cores quota"}
    return {
        "measured": True,
        "runtime": runtime,
        "budget_mib": 4096.0,
        "in_budget": "the instances",
        "cpu": "4 cores quota",
        "max_concurrent_instances": fitted,
        "spawned": fitted + 1,
        "oom_kills": 1,
        "stopped_by": stopped_by,
        "caps": {"instances": 200, "time_s": 1200},
        "elapsed_s": 100.0,
        "peak_usage_mib": 4096.0,
        "ready_s": [1.0] * fitted,
        "burst": burst,
    }


def document(with_containers: bool = True) -> dict[str, Any]:
    """agno ready in ~1 s with ~50 MiB, crewai in ~5 s with ~150 MiB; containers add a
    little; crewai's image is stale. Without containers: what a process-only run writes."""
    processes = {
        "code-reviewer-agno": _process(1.0, 50),
        "code-reviewer-crewai": _process(5.0, 150),
    }
    doc: dict[str, Any] = {
        "kind": "bench",
        "machine": {"cpu": "Test CPU", "cores": 2, "memory_gib": 8, "python": "3.11"},
        "settings": {"functions": ["code_reviewer"], "runs": 3, "warm_events": 2},
        "bytecode_compiled": {"agno": True, "crewai": True},
        "functions": suite.summaries(processes),
        "footprint": {
            v: {"packages": n, "installed_mib": n * 2.0, "compressed_mib": n / 2, "pyc_files": n}
            for v, n in (("agno", 60), ("crewai", 140))
        },
        "images": {
            "code-reviewer-agno": {"image": "r/code-reviewer-agno:0.1.0"} | _image(78, False),
            "code-reviewer-crewai": {"image": "r/code-reviewer-crewai:0.1.0"} | _image(355, True),
        },
        "imports": {},
        "review_task": None,
        "pi4": {
            "code-reviewer-agno": _node("process", 80, "instance 81: the kernel OOM-killed 1"),
            "code-reviewer-crewai": _node("process", 29, "instance 30: the kernel OOM-killed 1"),
        },
    }
    doc["machine"]["commit"] = "abc1234"
    doc["ratios"] = suite.ratios(doc["functions"])
    if not with_containers:
        return doc
    boxed = {
        "code-reviewer-agno": _container(1.0, 45),
        "code-reviewer-crewai": _container(5.0, 140),
    }
    doc["settings"]["runtime"] = "container"
    doc["containers"] = suite.summaries(boxed)
    for service, limit in (("code-reviewer-agno", 160.0), ("code-reviewer-crewai", 448.0)):
        doc["containers"][service]["settings"] = {"image": service, "memory_limit_mib": limit}
    doc["container_ratios"] = suite.ratios(doc["containers"], suite.CONTAINER_RATIO_KEYS)
    doc["container_overhead"] = containers.overhead(doc["functions"], doc["containers"])
    doc["pi4_containers"] = {
        "code-reviewer-agno": _node("container", 200, "cap of 200 instances"),
        "code-reviewer-crewai": _node("container", 25, "instance 26: the kernel OOM-killed 1"),
    }
    return doc

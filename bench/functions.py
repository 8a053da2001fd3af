"""Per function × variant: spawn → ready (with CPU seconds and memory), and through the
local platform (processes, or containers: ``bench.containers``): an event at zero scale
→ its reply, then warm latency.

The model is a zero-latency scripted Ollama-API server, so what is measured is the
function (process, imports, framework, runtime), not the model. Variants alternate
and which goes first flips every run, so drift on the machine hits both alike.
"""

from __future__ import annotations

import json
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml

from bench.probes import cpu_seconds, memory
from events import (
    CLUSTER_INSPECT_REQUESTED,
    REVIEW_REQUESTED,
    TASK_FAILED,
    TASK_REQUESTED,
    VARIANTS,
)
from localknative.cgroups import counts_of
from localknative.containers import remove_leftovers
from localknative.instances import FunctionProcess, FunctionSpec, process_tree
from localknative.launch import RunningPlatform
from localknative.launch import start_platform as spawn_platform
from localknative.paths import MANIFESTS

ROLES = ("code_reviewer", "orchestrator", "cluster_operator", "reporter")
IDLE_SETTLE_S = 0.5
WINDOW_S = 1.0
MIB = 2**20


def request_for(role: str, variant: str) -> tuple[str, dict[str, Any]]:
    """The event each role is measured with: one that makes it answer (not just record)."""
    if role == "code_reviewer":
        return REVIEW_REQUESTED, {"repository": "sample-repo"}
    if role == "orchestrator":
        goal = {"goal": "Review the code and look at the namespace."}
        return TASK_REQUESTED, {**goal, "repository": "sample-repo", "namespace": "default"}
    if role == "cluster_operator":
        return CLUSTER_INSPECT_REQUESTED, {"namespace": "default", "question": "healthy?"}
    if role == "reporter":  # a failed plan is reported at once
        failed = {"goal": "g", "error": "bench", "reason": "measured", "model": "m"}
        return TASK_FAILED, {**failed, "variant": variant}
    raise ValueError(f"no bench request for role {role!r}")


def order(run: int) -> tuple[str, ...]:
    """Variant order of run ``run``: alternates, so neither always goes first."""
    return VARIANTS if run % 2 else tuple(reversed(VARIANTS))


def spawn_sample(spec: FunctionSpec, env: dict[str, str]) -> dict[str, float]:
    """One cold start: spawn → readiness, CPU seconds spent to get there, idle memory."""
    return start_sample(FunctionProcess(spec, env=env))


def start_sample(instance: FunctionProcess) -> dict[str, float]:
    """Start ``instance`` (a cold process, a restored copy): start → readiness, the CPU
    seconds to get there, then its idle memory (``idle_rss_mib``, ``idle_pss_mib``, …)."""
    with instance:
        ready_s = instance.wait_ready()
        pids = instance.pids()
        cpu = cpu_seconds(pids)
        time.sleep(IDLE_SETTLE_S)
        idle = memory(instance.pids())
    return {"ready_s": ready_s, "cpu_s": cpu, **{f"idle_{k}": v for k, v in idle.items()}}


def bench_manifests(directory: Path) -> Path:
    """The repository's Broker and Services only: no Triggers, so what a measured
    function publishes goes nowhere and wakes nothing else."""
    documents = []
    for path in sorted(MANIFESTS.glob("*.yaml")):
        for document in yaml.safe_load_all(path.read_text()):
            if document and document.get("kind") in ("Broker", "Service"):
                documents.append(document)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "bench.yaml").write_text(yaml.safe_dump_all(documents))
    return directory


@contextmanager
def platform(
    state: Path, env: dict[str, str], runtime: str = "process", start: str = "cold"
) -> Iterator[RunningPlatform]:
    """``binks up --runtime RUNTIME --start START`` on the bench manifests, scale-to-zero
    window 1 s."""
    state.mkdir(parents=True, exist_ok=True)
    options = ["--manifests", str(bench_manifests(state / "manifests"))]
    options += ["--window", str(WINDOW_S), "--runtime", runtime, "--start", start]
    with (state / "platform.log").open("ab") as log:
        running = spawn_platform(state, *options, env=env, log=log.fileno())
    try:
        yield running
    finally:
        running.stop(60)
        if runtime == "container":  # what a platform that failed to stop left running
            remove_leftovers(str(state / "containers" / "functions"))


def _ps(platform: RunningPlatform, service: str) -> dict[str, Any]:
    request = urllib.request.Request(f"{platform.url}/_binks/ps", headers=platform.auth())
    with urllib.request.urlopen(request, timeout=10) as answer:
        services = json.load(answer)["services"]
    return next(s for s in services if s["service"] == service)


def post_event(
    url: str,
    event_type: str,
    data: dict[str, Any],
    task: str | None = None,
    host: str | None = None,
    timeout_s: float = 300,
) -> tuple[float, dict[str, str], dict[str, Any]]:
    """POST one binary-mode event; (seconds to the reply, its headers lower-cased, its data).

    ``host`` routes through the platform to a Service; without it ``url`` is the function.
    An error answer raises (urllib's HTTPError).
    """
    headers = {
        "ce-specversion": "1.0",
        "ce-id": str(uuid.uuid4()),
        "ce-source": "/binks/bench",
        "ce-type": event_type,
        "ce-binkstask": task or f"bench-{uuid.uuid4().hex[:12]}",
        "Content-Type": "application/json",
        **({"Host": host} if host else {}),
    }
    request = urllib.request.Request(url + "/", json.dumps(data).encode(), headers)
    started = time.perf_counter()
    with urllib.request.urlopen(request, timeout=timeout_s) as answer:
        body = answer.read()
        reply_headers = {k.lower(): v for k, v in answer.headers.items()}  # names: any case
    return time.perf_counter() - started, reply_headers, json.loads(body) if body else {}


def invoke(url: str, service: str, event_type: str, data: dict[str, Any]) -> float:
    """POST one event to ``service`` through the platform's Host routing; seconds to reply."""
    return post_event(url, event_type, data, host=f"{service}.default.localhost")[0]


def wait_for_zero(platform: RunningPlatform, service: str, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while (state := _ps(platform, service))["instances"] or state["starting"]:
        if time.monotonic() > deadline:
            raise TimeoutError(f"{service} did not scale to zero within {timeout_s:.0f} s")
        time.sleep(0.1)


def event_samples(
    platform: RunningPlatform,
    spec: FunctionSpec,
    warm_events: int,
    on_event: Callable[[], None] = lambda: None,
    runtime: str = "process",
) -> dict[str, Any]:
    """Event at zero → reply, then ``warm_events`` one after another on the warm instance;
    its memory then: a process's peak RSS, or a container's cgroup peak usage and rss."""
    url = platform.url
    wait_for_zero(platform, spec.service)
    event_type, data = request_for(spec.role, spec.variant)
    cold_s = invoke(url, spec.service, event_type, data)
    warm = []
    for _ in range(warm_events):
        warm.append(invoke(url, spec.service, event_type, data))
        on_event()
    instance = _ps(platform, spec.service)["instances"][0]
    sample = {"event_at_zero_s": cold_s, "warm_s": warm}
    if runtime == "container":  # the pid is the container's first process on the host
        counted = counts_of(instance["pid"])
        return {**sample, "peak_usage_mib": counted["peak"] / MIB, "rss_mib": counted["rss"] / MIB}
    return {**sample, "peak_rss_mib": memory(process_tree(instance["pid"]))["peak_rss_mib"]}

"""``make bench`` / ``binks bench``: every figure of the agno-vs-crewai comparison, in one
run, both variants interleaved, written to ``bench/results/<timestamp>-<host>.json``;
then ``latest.md``, the plots and the README table are regenerated from that file.

Phases (each per function × variant; with ``--runtime container`` per runtime too, the
container beside the process, which goes first alternating every run):
1. spawn → ready, CPU seconds to ready, idle RSS/PSS/USS (fresh process per run); in a
   container: ``podman run`` → ready, its cgroup's CPU seconds and idle memory;
2. through the local platform (one per runtime): event at zero scale → reply, warm
   latency, peak memory (zero-latency scripted model: the function is measured);
3. footprint of each variant's environment, each function's image size (from ``make
   image-sizes``), and the import profile of each function;
4. the code-review task with the embedded model: spawn / run / report (``--model-runs``);
5. ``--profile pi4``: instances that fit a 4 GiB node (cgroups), and a burst.
"""

from __future__ import annotations

import contextlib
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench import containers as bench_containers
from bench import footprint, functions, pi4
from bench.probes import percentile, spread
from bench.results import CONTAINER_RATIO_KEYS, RATIO_KEYS, RESULTS, save
from events import VARIANTS
from localknative.instances import FunctionSpec
from modelserver.sample_answers import sample_team
from modelserver.scripted import ScriptedOllama
from shared.defaults import DEFAULT_MODEL

ROLES = functions.ROLES
RUNTIMES = ("process", "container")


@dataclass
class Progress:
    """A one-line progress bar on a terminal; plain lines otherwise (CI logs)."""

    total: int
    done: int = 0
    started: float = field(default_factory=time.monotonic)

    def step(self, what: str) -> None:
        self.done += 1
        width = 30
        filled = round(width * self.done / max(1, self.total))
        bar = "#" * filled + "-" * (width - filled)
        line = f"[{bar}] {self.done}/{self.total} {time.monotonic() - self.started:5.0f}s {what}"
        if sys.stderr.isatty():
            print(f"\r{line[:120]:<120}", end="", file=sys.stderr, flush=True)
            if self.done >= self.total:
                print(file=sys.stderr)
        else:
            print(line, file=sys.stderr, flush=True)


def _scripted_env(model: ScriptedOllama) -> dict[str, str]:
    """Every function its own path on the scripted server: the path picks its role's answers."""
    return {
        "OLLAMA_HOST": model.url_per_service,
        "BINKS_MODEL": DEFAULT_MODEL,
        "BINKS_CLUSTER": "local",
    }


def runtimes(run_: int, runtime: str) -> tuple[str, ...]:
    """What run ``run_`` measures: the process only, or (``runtime`` container) both,
    which goes first alternating as the variants' order does."""
    if runtime == "process":
        return ("process",)
    return RUNTIMES if run_ % 2 else tuple(reversed(RUNTIMES))


def run(
    roles: tuple[str, ...] = functions.ROLES,
    runs: int = 3,
    warm_events: int = 10,
    model_runs: int = 1,
    profile: str | None = None,
    quick: bool = False,
    burst_events: int = 40,
    runtime: str = "process",
) -> dict[str, Any]:
    """Measure everything; return the results document (not yet saved). ``runtime``
    container: every function in a container too, beside its process, in the same run."""
    specs = [FunctionSpec(role, variant) for role in roles for variant in VARIANTS]
    services = bench_containers.services()
    kinds = len(runtimes(1, runtime))
    if runtime == "container":  # fail now, not after the process half
        bench_containers.require_images([services[s.service].image for s in specs])
    total = runs * len(specs) * (2 + warm_events) * kinds + len(VARIANTS) + len(specs)
    total += model_runs * len(VARIANTS) * 2 + (2 * len(VARIANTS) * kinds if profile else 0)
    for variant in VARIANTS:
        if not footprint.bytecode_compiled(variant):
            print(f"warning: .venvs/{variant} has no compiled bytecode; cold starts are inflated")
    progress = Progress(total)
    document: dict[str, Any] = {
        "settings": {
            "functions": list(roles),
            "runs": runs,
            "warm_events": warm_events,
            "model_runs": model_runs,
            "profile": profile,
            "burst_events": burst_events if profile == "pi4" else None,
            "quick": quick,
            "runtime": runtime,
        },
        "bytecode_compiled": {v: footprint.bytecode_compiled(v) for v in VARIANTS},
    }
    samples = measure(roles, runs, warm_events, runtime, services, progress)  # phases 1, 2
    document["functions"] = summaries(samples["process"])
    document["footprint"] = {}
    for variant in VARIANTS:  # phase 3
        document["footprint"][variant] = footprint.footprint(variant, compress=not quick)
        progress.step(f"footprint {variant}")
    document["images"] = footprint.image_sizes(
        {s.service: services[s.service].image for s in specs}
    )
    document["imports"] = {}
    for spec in specs:
        document["imports"][spec.service] = footprint.import_profile(spec.role, spec.variant)
        progress.step(f"import profile {spec.service}")
    document["review_task"] = review_task(model_runs, progress) if model_runs else None
    if profile == "pi4":  # phase 5
        document.update(node_profile(roles[0], runtime, burst_events, progress))
    document["ratios"] = ratios(document["functions"])
    if runtime == "container":
        document.update(container_results(document["functions"], samples["container"], services))
    return document


def container_results(
    processes: dict[str, Any], boxed: dict[str, dict[str, list]], services: dict[str, Any]
) -> dict[str, Any]:
    """The container figures: per service its samples, summary and what it ran under;
    crewai / agno; what the container adds over the process (``processes``)."""
    containers = summaries(boxed)
    for service, entry in containers.items():
        entry["settings"] = bench_containers.settings(services[service])
    return {
        "containers": containers,
        "container_ratios": ratios(containers, CONTAINER_RATIO_KEYS),
        "container_overhead": bench_containers.overhead(processes, containers),
    }


def measure(
    roles: tuple[str, ...],
    runs: int,
    warm_events: int,
    runtime: str,
    services: dict[str, Any],
    progress: Progress,
) -> dict[str, dict[str, dict[str, list]]]:
    """Phases 1 and 2, interleaved: per run, role, variant and runtime (both orders
    alternating), a cold start; then through one platform per runtime, the events.
    Samples per runtime, per service."""
    kinds = runtimes(1, runtime)
    samples = {
        kind: {
            FunctionSpec(r, v).service: {"spawn": [], "events": []} for r in roles for v in VARIANTS
        }
        for kind in kinds
    }
    label = bench_containers.owner() if "container" in kinds else None
    with (
        ScriptedOllama(sample_team()) as model,
        tempfile.TemporaryDirectory() as directory,
        bench_containers.cleanup(label),  # every container this run started goes
    ):
        env, state = _scripted_env(model), Path(directory)
        for role, variant, kind in _interleaved(roles, runs, runtime):  # phase 1
            spec = FunctionSpec(role, variant)
            if kind == "process":
                sample = functions.spawn_sample(spec, env)
            else:
                service = services[spec.service]
                sample = bench_containers.spawn_sample(
                    spec, env, service, state / "container-functions", label or ""
                )
            samples[kind][spec.service]["spawn"].append(sample)
            progress.step(f"spawn {spec.service} ({kind})")
        with contextlib.ExitStack() as stack:  # phase 2: a platform per runtime
            platforms = {
                kind: stack.enter_context(functions.platform(state / kind, env, kind))
                for kind in kinds
            }
            for role, variant, kind in _interleaved(roles, runs, runtime):
                spec = FunctionSpec(role, variant)
                sample = functions.event_samples(
                    platforms[kind],
                    spec,
                    warm_events,
                    lambda s=spec: progress.step(f"event {s.service}"),
                    runtime=kind,
                )
                samples[kind][spec.service]["events"].append(sample)
                progress.step(f"event at zero {spec.service} ({kind})")
    return samples


def _interleaved(roles: tuple[str, ...], runs: int, runtime: str) -> Iterator[tuple[str, str, str]]:
    """(role, variant, runtime) in measuring order: variants and runtimes alternate
    which goes first every run, so drift on the machine hits them alike."""
    for n in range(1, runs + 1):
        for role in roles:
            for variant in functions.order(n):
                for kind in runtimes(n, runtime):
                    yield role, variant, kind


def summaries(samples: dict[str, dict[str, list]]) -> dict[str, Any]:
    """Per service: its samples and their summary (``summarise``)."""
    return {
        service: {"samples": rows, "summary": summarise(rows)} for service, rows in samples.items()
    }


def node_profile(
    role: str, runtime: str, burst_events: int, progress: Progress
) -> dict[str, dict[str, Any]]:
    """Phase 5 (``--profile pi4``): instances that fit the node and a burst, per variant
    and runtime; ``pi4`` for processes, ``pi4_containers`` for containers."""
    out: dict[str, dict[str, Any]] = {"pi4": {}}
    if runtime == "container":
        out["pi4_containers"] = {}
    for variant in VARIANTS:
        spec = FunctionSpec(role, variant)
        for kind in runtimes(1, runtime):
            with ScriptedOllama(sample_team()) as model:
                fitted = pi4.max_instances(spec, _scripted_env(model), runtime=kind)
                progress.step(f"pi4 instances {spec.service} ({kind})")
                fitted["burst"] = pi4.burst(spec, _scripted_env(model), burst_events, kind)
                progress.step(f"pi4 burst {spec.service} ({kind})")
            out["pi4" if kind == "process" else "pi4_containers"][spec.service] = fitted
    return out


def summarise(rows: dict[str, list]) -> dict[str, Any]:
    """Median and spread of every figure of one function (process or container)."""
    spawn, events = rows["spawn"], rows["events"]
    warm = [s for e in events for s in e["warm_s"]]
    out = {key: spread([s[key] for s in spawn]) for key in spawn[0]} if spawn else {}
    for key in [k for k in events[0] if k != "warm_s"] if events else []:
        out[key] = spread([e[key] for e in events])  # event at zero, peak memory
    if warm:
        out["warm_p50_s"] = percentile(warm, 50)
        out["warm_p99_s"] = percentile(warm, 99)
    return out


def ratios(
    functions_: dict[str, Any], keys: tuple[str, ...] = RATIO_KEYS
) -> dict[str, dict[str, float]]:
    """crewai / agno of each median of ``keys``, per role."""
    out: dict[str, dict[str, float]] = {}
    for service, entry in functions_.items():
        if not service.endswith("-agno"):
            continue
        role = service.removesuffix("-agno")
        other = functions_.get(f"{role}-crewai")
        if not other:
            continue
        mine, theirs = entry["summary"], other["summary"]
        out[role] = {
            key: theirs[key]["median"] / mine[key]["median"]
            for key in keys
            if key in mine and key in theirs and mine[key]["median"]
        }
    return out


def review_task(runs: int, progress: Progress) -> dict[str, Any]:
    """The code-review task with the embedded model, both variants: spawn / run / report."""
    from bench.review_task import measure

    return measure(runs, progress.step)


def main(
    roles: tuple[str, ...] = functions.ROLES,
    runs: int = 3,
    warm_events: int = 10,
    model_runs: int = 1,
    profile: str | None = None,
    quick: bool = False,
    output: Path | None = None,
    runtime: str = "process",
) -> int:
    """Run, save, regenerate latest.md, the plots and the README section."""
    from bench import report

    if quick:  # a smoke test: one function, one run, no model, not the committed results
        roles, runs, warm_events, model_runs = roles[:1], 1, 3, 0
        output = output or RESULTS / "quick"
    document = run(roles, runs, warm_events, model_runs, profile, quick, runtime=runtime)
    path = save("bench", document, output or RESULTS)
    print(report.regenerate(path, readme=not quick))
    return 0

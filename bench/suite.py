"""``make bench`` / ``binks bench``: every figure of the agno-vs-crewai comparison, in one
run, both variants interleaved, written to ``bench/results/<timestamp>-<host>.json``;
then ``latest.md``, the plots and the README table are regenerated from that file.

Phases (each per function × variant):
1. spawn → ready, CPU seconds to ready, idle RSS/PSS/USS (fresh process per run);
2. through the local platform: event at zero scale → reply, warm latency, peak RSS
   (zero-latency scripted model: the function is measured, not the model);
3. footprint of each variant's environment, and the import profile of each function;
4. the code-review task with the embedded model: spawn / run / report (``--model-runs``);
5. ``--profile pi4``: instances that fit a 4 GiB node (cgroups).
"""

from __future__ import annotations

import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench import footprint, functions, pi4
from bench.probes import percentile, spread
from bench.results import RESULTS, save
from events import VARIANTS
from localknative.instances import FunctionSpec
from modelserver.sample_answers import sample_team
from modelserver.scripted import ScriptedOllama
from shared.defaults import DEFAULT_MODEL

ROLES = functions.ROLES


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


def run(
    roles: tuple[str, ...] = functions.ROLES,
    runs: int = 3,
    warm_events: int = 10,
    model_runs: int = 1,
    profile: str | None = None,
    quick: bool = False,
    burst_events: int = 40,
) -> dict[str, Any]:
    """Measure everything; return the results document (not yet saved)."""
    specs = [FunctionSpec(role, variant) for role in roles for variant in VARIANTS]
    per_run = len(specs) * (2 + warm_events)  # spawn, event at zero, warm events
    total = runs * per_run + len(VARIANTS) + len(specs) + model_runs * len(VARIANTS) * 2
    total += 2 * len(VARIANTS) if profile == "pi4" else 0
    for variant in VARIANTS:
        if not footprint.bytecode_compiled(variant):
            print(f"warning: .venvs/{variant} has no compiled bytecode; cold starts are inflated")
    progress = Progress(total)
    samples: dict[str, dict[str, list]] = {s.service: {"spawn": [], "events": []} for s in specs}
    document: dict[str, Any] = {
        "settings": {
            "functions": list(roles),
            "runs": runs,
            "warm_events": warm_events,
            "model_runs": model_runs,
            "profile": profile,
            "burst_events": burst_events if profile == "pi4" else None,
            "quick": quick,
        },
        "bytecode_compiled": {v: footprint.bytecode_compiled(v) for v in VARIANTS},
    }
    with ScriptedOllama(sample_team()) as model, tempfile.TemporaryDirectory() as state:
        env = _scripted_env(model)
        for n in range(1, runs + 1):  # phase 1
            for role in roles:
                for variant in functions.order(n):
                    spec = FunctionSpec(role, variant)
                    samples[spec.service]["spawn"].append(functions.spawn_sample(spec, env))
                    progress.step(f"spawn {spec.service}")
        with functions.platform(Path(state), env) as running:  # phase 2
            for n in range(1, runs + 1):
                for role in roles:
                    for variant in functions.order(n):
                        spec = FunctionSpec(role, variant)
                        sample = functions.event_samples(
                            running,
                            spec,
                            warm_events,
                            lambda s=spec: progress.step(f"event {s.service}"),
                        )
                        samples[spec.service]["events"].append(sample)
                        progress.step(f"event at zero {spec.service}")
    document["functions"] = {
        service: {"samples": rows, "summary": summarise(rows)} for service, rows in samples.items()
    }
    document["footprint"] = {}
    for variant in VARIANTS:  # phase 3
        document["footprint"][variant] = footprint.footprint(variant, compress=not quick)
        progress.step(f"footprint {variant}")
    document["imports"] = {}
    for spec in specs:
        document["imports"][spec.service] = footprint.import_profile(spec.role, spec.variant)
        progress.step(f"import profile {spec.service}")
    document["review_task"] = review_task(model_runs, progress) if model_runs else None
    if profile == "pi4":  # phase 5
        document["pi4"] = {}
        for variant in VARIANTS:
            spec = FunctionSpec(roles[0], variant)
            with ScriptedOllama(sample_team()) as model:
                fitted = pi4.max_instances(spec, _scripted_env(model))
                progress.step(f"pi4 instances {spec.service}")
                fitted["burst"] = pi4.burst(spec, _scripted_env(model), burst_events)
                progress.step(f"pi4 burst {spec.service}")
            document["pi4"][spec.service] = fitted
    document["ratios"] = ratios(document["functions"])
    return document


def summarise(rows: dict[str, list]) -> dict[str, Any]:
    """Median and spread of every figure of one function."""
    spawn, events = rows["spawn"], rows["events"]
    warm = [s for e in events for s in e["warm_s"]]
    out = {key: spread([s[key] for s in spawn]) for key in spawn[0]} if spawn else {}
    if events:
        out["event_at_zero_s"] = spread([e["event_at_zero_s"] for e in events])
        out["peak_rss_mib"] = spread([e["peak_rss_mib"] for e in events])
    if warm:
        out["warm_p50_s"] = percentile(warm, 50)
        out["warm_p99_s"] = percentile(warm, 99)
    return out


RATIO_KEYS = ("ready_s", "event_at_zero_s", "cpu_s", "idle_rss_mib", "idle_pss_mib", "peak_rss_mib")


def ratios(functions_: dict[str, Any]) -> dict[str, dict[str, float]]:
    """crewai / agno of each median, per role."""
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
            for key in RATIO_KEYS
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
) -> int:
    """Run, save, regenerate latest.md, the plots and the README section."""
    from bench import report

    if quick:  # a smoke test: one function, one run, no model, not the committed results
        roles, runs, warm_events, model_runs = roles[:1], 1, 3, 0
        output = output or RESULTS / "quick"
    document = run(roles, runs, warm_events, model_runs, profile, quick)
    path = save("bench", document, output or RESULTS)
    print(report.regenerate(path, readme=not quick))
    return 0

"""Spawn → readiness time and idle memory per variant, interleaved, with spread.

Every run spawns a fresh instance (a cold start as Knative sees it: new process,
framework import, app built, readiness answered), reads the instance's RSS once
ready and idle, then stops it. Variants alternate (agno, crewai, agno, ...) so
drift on the machine hits both alike.
"""

from __future__ import annotations

from bench.footprint import bytecode_compiled
from bench.functions import spawn_sample
from bench.probes import spread
from bench.results import save
from events import VARIANTS
from localknative.instances import FunctionSpec


def measure(spec: FunctionSpec) -> dict[str, float]:
    sample = spawn_sample(spec, {"OLLAMA_HOST": "http://127.0.0.1:9"})
    return {"ready_s": sample["ready_s"], "rss_mib": sample["idle_rss_mib"]}


def main(runs: int = 5, role: str = "code_reviewer") -> int:
    specs = [FunctionSpec(role, variant) for variant in VARIANTS]
    for spec in specs:
        if not bytecode_compiled(spec.variant):
            print(
                f"warning: .venvs/{spec.variant} has no compiled bytecode; cold starts are inflated"
            )
    samples: dict[str, list[dict[str, float]]] = {s.variant: [] for s in specs}
    for run in range(1, runs + 1):
        for spec in specs:
            sample = measure(spec)
            samples[spec.variant].append(sample)
            print(
                f"run {run}/{runs} {spec.service:<24} ready {sample['ready_s']:6.2f} s"
                f"   idle RSS {sample['rss_mib']:7.1f} MiB",
                flush=True,
            )
    summary = {
        variant: {key: spread([s[key] for s in rows]) for key in ("ready_s", "rss_mib")}
        for variant, rows in samples.items()
    }
    agno, crewai = summary["agno"], summary["crewai"]
    ratios = {key: crewai[key]["median"] / agno[key]["median"] for key in ("ready_s", "rss_mib")}
    print(f"\n{'':<10}{'ready s (median [min-max])':>30}{'idle RSS MiB (median [min-max])':>36}")
    for variant, row in summary.items():
        r, m = row["ready_s"], row["rss_mib"]
        print(
            f"{variant:<10}{r['median']:>14.2f} [{r['min']:.2f}-{r['max']:.2f}]"
            f"{m['median']:>20.1f} [{m['min']:.1f}-{m['max']:.1f}]"
        )
    print(f"crewai/agno ratio: ready {ratios['ready_s']:.2f}x, idle RSS {ratios['rss_mib']:.2f}x")
    save(
        "startup",
        {
            "function": role,
            "runs": runs,
            "bytecode_compiled": {s.variant: bytecode_compiled(s.variant) for s in specs},
            "samples": samples,
            "summary": summary,
            "ratio_crewai_over_agno": ratios,
        },
    )
    return 0

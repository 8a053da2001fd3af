"""The process figures' sections of ``latest.md`` (per function, ratios, footprint,
imports, the review task, the Pi profile), and the formatting every section shares.

Each function returns the section's lines; ``bench.report`` puts them in order.
"""

from __future__ import annotations

from typing import Any

from bench.results import RATIO_KEYS
from events import VARIANTS

MIB = 2**20


def m(entry: dict[str, Any] | None, key: str, scale: float = 1.0, digits: int = 2) -> str:
    """``median [min–max]`` of one figure, or a dash."""
    if not entry or key not in entry:
        return "–"
    s, d = entry[key], digits
    return f"{s['median'] * scale:.{d}f} [{s['min'] * scale:.{d}f}–{s['max'] * scale:.{d}f}]"


def med(entry: dict[str, Any] | None, key: str) -> float | None:
    """The median of one figure, or None."""
    return entry[key]["median"] if entry and key in entry else None


def ratio(a: float | None, b: float | None) -> str:
    """``b / a`` as ``1.23×``, or a dash."""
    return f"{b / a:.2f}×" if a and b else "–"


def warm(entry: dict[str, Any]) -> str:
    """Warm latency ``p50 / p99`` in ms, or a dash."""
    if "warm_p50_s" not in entry:
        return "–"
    return f"{entry['warm_p50_s'] * 1000:.0f} / {entry['warm_p99_s'] * 1000:.0f}"


def roles(document: dict[str, Any]) -> list[str]:
    """The measured functions, as services name them (``code-reviewer``)."""
    return [f.replace("_", "-") for f in document["settings"]["functions"]]


def function_table(document: dict[str, Any]) -> list[str]:
    """Per function and variant: every process figure, median [min–max]."""
    head = (
        "| function | variant | spawn → ready s | CPU s to ready | event at zero → reply s "
        "| warm p50 / p99 ms | idle RSS MiB | idle PSS MiB | idle USS MiB | peak RSS MiB |"
    )
    lines = [head, "|" + "---|" * 10]
    for role in roles(document):
        for variant in VARIANTS:
            entry = document["functions"][f"{role}-{variant}"]["summary"]
            memory = " | ".join(
                m(entry, key, digits=1)
                for key in ("idle_rss_mib", "idle_pss_mib", "idle_uss_mib", "peak_rss_mib")
            )
            lines.append(
                f"| {role} | {variant} | {m(entry, 'ready_s')} | {m(entry, 'cpu_s')} "
                f"| {m(entry, 'event_at_zero_s')} | {warm(entry)} | {memory} |"
            )
    return lines


def ratio_table(
    ratios: dict[str, dict[str, float]], keys: tuple[str, ...] = RATIO_KEYS
) -> list[str]:
    """crewai / agno per function, one column per figure in ``keys``."""
    lines = ["| function | " + " | ".join(keys) + " |", "|" + "---|" * (len(keys) + 1)]
    for role, row in ratios.items():
        cells = [f"{row[k]:.2f}×" if k in row else "–" for k in keys]
        lines.append(f"| {role} | " + " | ".join(cells) + " |")
    return lines


def footprint_section(document: dict[str, Any]) -> list[str]:
    """Each variant's environment; the image column only for results from before the
    image sizes had a section of their own."""
    old = any("image" in f for f in document["footprint"].values())
    lines = [
        "## Footprint of each variant's environment",
        "",
        "| variant | packages | installed MiB | compressed MiB | .pyc files |"
        + (" OCI image |" if old else ""),
        "|---|---|---|---|---|" + ("---|" if old else ""),
    ]
    for variant, f in document["footprint"].items():
        compressed = f"{f['compressed_mib']:.1f}" if f["compressed_mib"] is not None else "–"
        row = f"| {variant} | {f['packages']} | {f['installed_mib']:.1f} | {compressed} "
        row += f"| {f['pyc_files']} |"
        if old:
            shown = f.get("image") or {"built": False, "reason": "–"}
            image = shown.get("size") if shown["built"] else f"not built: {shown['reason']}"
            row += f" {image} |"
        lines.append(row)
    return lines


def imports_section(document: dict[str, Any]) -> list[str]:
    """Where each function's start-up time goes, the slowest packages first."""
    lines = ["## Where start-up time goes (`python -X importtime`, self time)", ""]
    for service, profile in document["imports"].items():
        top = ", ".join(f"{t['package']} {t['self_s']:.2f}" for t in profile["top"][:8])
        lines.append(f"- **{service}** (imports {profile['total_s']:.2f} s): {top}")
    return lines


def review_task_section(document: dict[str, Any]) -> list[str]:
    """The code-review task with the embedded model, per variant; nothing if not run."""
    task = document.get("review_task")
    if not task:
        return []
    lines = [
        "",
        f"## Code-review task ({task['model']})",
        "",
        "| variant | spawn s | run s | report s |",
        "|---|---|---|---|",
    ]
    for variant, entry in task["summary"].items():
        lines.append(
            f"| {variant} | {m(entry, 'spawn_s')} | {m(entry, 'run_s')} | {m(entry, 'report_s')} |"
        )
    return lines


def pi4_section(document: dict[str, Any]) -> list[str]:
    """The Pi 4 profile: instances that fit and the burst, processes then containers."""
    if not document.get("pi4"):
        return []
    lines = ["", "## Pi 4 profile (4 GiB memory budget, cgroup v1)", ""]
    for key, runtime in (("pi4", ""), ("pi4_containers", " in containers")):
        for service, entry in (document.get(key) or {}).items():
            lines += pi4_lines(f"- **{service}**{runtime}:", entry)
    return lines


def pi4_lines(head: str, entry: dict[str, Any]) -> list[str]:
    """One function's Pi 4 figures after ``head``: the instances that fit, its burst."""
    if not entry["measured"]:
        return [f"{head} not measured: {entry['reason']}"]
    extra = f"; in the budget: {entry['in_budget']}" if "in_budget" in entry else ""
    extra += f"; {entry['elapsed_s']:.0f} s" if "elapsed_s" in entry else ""
    lines = [
        f"{head} {entry['max_concurrent_instances']} instances at once "
        f"(spawned {entry['spawned']}, OOM kills {entry['oom_kills']}, stopped by "
        f"{entry['stopped_by']}; peak usage {entry['peak_usage_mib']:.0f} MiB; CPU: "
        f"{entry['cpu']}{extra})"
    ]
    burst = entry.get("burst") or {}
    if burst.get("measured"):
        latency = (
            f"{burst['latency_p50_s']:.1f} s / {burst['latency_p99_s']:.1f} s"
            if burst["answered"]
            else "–"
        )
        where = f"; in the budget: {burst['in_budget']}" if "in_budget" in burst else ""
        if "instances_died" in burst:
            where = f"; instances that died {burst['instances_died']}{where}"
        lines.append(
            f"  - burst of {burst['events']} events at zero scale (containerConcurrency "
            f"1): {burst['answered']} answered, {burst['failed']} failed "
            f"{burst['failures'] or ''}, OOM kills {burst['oom_kills']}, peak "
            f"{burst['peak_usage_mib']:.0f} MiB; send → reply p50 / p99 {latency}{where}"
        )
    elif burst:
        lines.append(f"  - burst: not measured: {burst.get('reason')}")
    return lines

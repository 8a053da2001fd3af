"""The README's bench section: the code reviewer next to the seed's claims, every
function per variant (processes, and containers beside them where measured), the plots.

Results from before containers and image sizes render as they always did (the test
compares the README with the newest committed results).
"""

from __future__ import annotations

from typing import Any

from bench.report_tables import med, ratio, roles
from events import VARIANTS

BEGIN, END = "<!-- bench:begin -->", "<!-- bench:end -->"
#: The seed's claims, quoted as the seed states them (no method was given).
SEED = {
    "cold start": ("0.4 s", "3.2 s"),
    "memory": ("32 MB", "280 MB"),
    "image": ("43 MB", "447 MB"),
    "packages": ("~8", "~80"),
    "code-review task": ("5.6 s", "8.4 s"),
    "pi": ("~100+", "~12"),
}
MIB = 2**20


def render_readme(document: dict[str, Any], source: str) -> str:
    """The README section, from the markers' BEGIN to END."""
    machine = document["machine"]
    lines = [
        BEGIN,
        f"Measured by `make bench` (`{source}`; {machine['cpu']}, "
        f"{machine['cores']} cores, commit `{machine['commit']}`). "
        "Medians; spread and every other figure in `bench/results/latest.md`. The *seed* "
        "columns are the figures the project started from, as its founding brief claimed "
        "them (no method or machine given): the targets to check, not measurements; the "
        "*measured* columns are this run.",
        "",
        "| code reviewer | seed agno | seed crewai | measured agno | measured crewai "
        "| crewai / agno |",
        "|---|---|---|---|---|---|",
        *reviewer_rows(document),
        "",
        *(
            per_function_containers(document)
            if document.get("containers")
            else per_function(document)
        ),
        "",
        "![cold start](bench/results/plots/cold_start.png)",
        "![memory](bench/results/plots/memory.png)",
    ]
    if document.get("containers"):
        lines.append("![process vs container](bench/results/plots/containers.png)")
    return "\n".join([*lines, END])


def row(label: str, seed: str | None, a: float | None, c: float | None, fmt: str) -> str:
    """One line of the reviewer table: the seed's claim (``seed`` a key of SEED, None for
    none), agno, crewai, and their ratio."""
    cells = [fmt.format(a) if a is not None else "–", fmt.format(c) if c is not None else "–"]
    claimed = f"{SEED[seed][0]} | {SEED[seed][1]}" if seed else "– | –"
    return f"| {label} | {claimed} | {cells[0]} | {cells[1]} | {ratio(a, c)} |"


def reviewer_rows(document: dict[str, Any]) -> list[str]:
    """The code reviewer against the seed: cold start, memory, size, task, the Pi."""
    fn, boxed = document["functions"], document.get("containers") or {}
    agno, crewai = (fn.get(f"code-reviewer-{v}", {}).get("summary") for v in VARIANTS)
    box_agno, box_crewai = (boxed.get(f"code-reviewer-{v}", {}).get("summary") for v in VARIANTS)
    event, ready = "event at zero → reply", "event_at_zero_s"
    lines = [
        row(f"cold start: {event}", "cold start", med(agno, ready), med(crewai, ready), "{:.2f} s")
    ]
    if boxed:
        pair = (med(box_agno, ready), med(box_crewai, ready))
        lines.append(row(f"cold start in a container: {event}", "cold start", *pair, "{:.2f} s"))
    pss = (med(agno, "idle_pss_mib"), med(crewai, "idle_pss_mib"))
    lines.append(row("idle memory (PSS)", "memory", *pss, "{:.0f} MiB"))
    if boxed:
        usage = (med(box_agno, "idle_usage_mib"), med(box_crewai, "idle_usage_mib"))
        lines.append(
            row("idle memory in a container (cgroup usage)", "memory", *usage, "{:.0f} MiB")
        )
    lines += size_rows(document)
    lines += task_and_node_rows(document)
    return lines


def size_rows(document: dict[str, Any]) -> list[str]:
    """The image's pull size (gzip) where measured, the dependencies compressed, packages."""
    foot, lines = document["footprint"], []
    images = [(document.get("images") or {}).get(f"code-reviewer-{v}") or {} for v in VARIANTS]
    measured = all(image.get("measured") for image in images)
    if measured:
        arch = images[0].get("host_arch", "amd64")
        pulls = [image["arches"].get(arch, {}).get("gzip") for image in images]
        stale = " (stale: run make image-sizes)" if any(i.get("stale") for i in images) else ""
        a, c = (p / MIB if p else None for p in pulls)
        lines.append(
            row(f"image, compressed pull (gzip, {arch}){stale}", "image", a, c, "{:.0f} MiB")
        )
    fa, fc = foot.get("agno", {}), foot.get("crewai", {})
    compressed = (fa.get("compressed_mib"), fc.get("compressed_mib"))
    if measured:
        lines.append(
            row(
                "dependencies, compressed (venv, deflate per file)", None, *compressed, "{:.0f} MiB"
            )
        )
    else:
        lines.append(
            row("dependencies, compressed (no image built)", "image", *compressed, "{:.0f} MiB")
        )
    lines.append(
        row("packages installed", "packages", fa.get("packages"), fc.get("packages"), "{:.0f}")
    )
    return lines


def task_and_node_rows(document: dict[str, Any]) -> list[str]:
    """The code-review task with the model, and how many instances fit a Pi 4."""
    task = (document.get("review_task") or {}).get("summary", {})
    totals = [
        sum(task[v][k]["median"] for k in ("spawn_s", "run_s", "report_s") if k in task[v])
        if v in task
        else None
        for v in VARIANTS
    ]
    lines = [row("code-review task (embedded model)", "code-review task", *totals, "{:.1f} s")]
    for key, label in (
        ("pi4", "instances that fit 4 GiB (`--profile pi4`)"),
        ("pi4_containers", "containers that fit 4 GiB (`--profile pi4 --runtime container`)"),
    ):
        entries = [(document.get(key) or {}).get(f"code-reviewer-{v}") or {} for v in VARIANTS]
        if any(entry.get("measured") for entry in entries):
            lines.append(node_row(label, entries))
    return lines


def node_row(label: str, entries: list[dict[str, Any]]) -> str:
    """How many fit, per variant: ``≥ n`` where a cap (instances or time) stopped it."""
    cells = []
    for entry in entries:
        n, stopped_by = entry.get("max_concurrent_instances"), entry.get("stopped_by", "")
        capped = stopped_by.startswith(("cap", "time cap"))
        cells.append(f"≥ {n} (the bench's cap)" if capped else f"{n}")
    fa, fc = (entry.get("max_concurrent_instances") for entry in entries)
    return (
        f"| {label} | {SEED['pi'][0]} | {SEED['pi'][1]} | {cells[0]} | {cells[1]} "
        f"| {ratio(fa, fc)} |"
    )


def per_function(document: dict[str, Any]) -> list[str]:
    """Every function, agno / crewai: processes only."""
    fn = document["functions"]
    lines = [
        "| function | event at zero → reply (agno / crewai) | spawn → ready | idle PSS MiB "
        "| crewai / agno (event at zero, PSS) |",
        "|---|---|---|---|---|",
    ]
    for role in roles(document):
        a, c = fn[f"{role}-agno"]["summary"], fn[f"{role}-crewai"]["summary"]
        lines.append(
            f"| {role} | {_pair(a, c, 'event_at_zero_s', '{:.2f} s')} "
            f"| {_pair(a, c, 'ready_s', '{:.2f} s')} | {_pair(a, c, 'idle_pss_mib', '{:.0f}')} "
            f"| {ratio(med(a, 'event_at_zero_s'), med(c, 'event_at_zero_s'))}, "
            f"{ratio(med(a, 'idle_pss_mib'), med(c, 'idle_pss_mib'))} |"
        )
    return lines


def per_function_containers(document: dict[str, Any]) -> list[str]:
    """Every function, agno / crewai: each process figure with its container's beside it."""
    fn, boxed = document["functions"], document["containers"]
    lines = [
        "| function | event at zero → reply (agno / crewai) | … in a container | spawn → ready "
        "| podman run → ready | idle PSS MiB | idle in a container, cgroup usage MiB "
        "| crewai / agno (event at zero, PSS) | … in a container (event at zero, usage) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for role in roles(document):
        a, c = fn[f"{role}-agno"]["summary"], fn[f"{role}-crewai"]["summary"]
        ba, bc = boxed[f"{role}-agno"]["summary"], boxed[f"{role}-crewai"]["summary"]
        lines.append(
            f"| {role} | {_pair(a, c, 'event_at_zero_s', '{:.2f} s')} "
            f"| {_pair(ba, bc, 'event_at_zero_s', '{:.2f} s')} "
            f"| {_pair(a, c, 'ready_s', '{:.2f} s')} | {_pair(ba, bc, 'ready_s', '{:.2f} s')} "
            f"| {_pair(a, c, 'idle_pss_mib', '{:.0f}')} "
            f"| {_pair(ba, bc, 'idle_usage_mib', '{:.0f}')} "
            f"| {ratio(med(a, 'event_at_zero_s'), med(c, 'event_at_zero_s'))}, "
            f"{ratio(med(a, 'idle_pss_mib'), med(c, 'idle_pss_mib'))} "
            f"| {ratio(med(ba, 'event_at_zero_s'), med(bc, 'event_at_zero_s'))}, "
            f"{ratio(med(ba, 'idle_usage_mib'), med(bc, 'idle_usage_mib'))} |"
        )
    return lines


def _pair(a: dict[str, Any], c: dict[str, Any], key: str, fmt: str) -> str:
    """``agno / crewai`` of one median, each formatted with ``fmt``."""
    shown = [fmt.format(v) if (v := med(e, key)) is not None else "–" for e in (a, c)]
    return " / ".join(shown)

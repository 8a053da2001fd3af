"""Turn a bench results file into ``latest.md``, PNG plots and the README's table.

Every number shown is read from the results file; nothing is typed in by hand. The
README section between the markers is regenerated here, and a test checks that it
matches the newest committed results (``python -m bench.report`` rewrites it).
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

from bench.results import RESULTS
from events import VARIANTS
from localknative.paths import REPO

README = REPO / "README.md"
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


def latest(directory: Path = RESULTS) -> Path:
    """The newest full bench results file (names start with their timestamp)."""
    found = sorted(directory.glob("*-bench.json"))
    if not found:
        raise FileNotFoundError(f"no *-bench.json in {directory}: run `make bench`")
    return found[-1]


def _m(entry: dict[str, Any] | None, key: str, scale: float = 1.0, digits: int = 2) -> str:
    """``median [min–max]`` of one figure, or a dash."""
    if not entry or key not in entry:
        return "–"
    s, d = entry[key], digits
    return f"{s['median'] * scale:.{d}f} [{s['min'] * scale:.{d}f}–{s['max'] * scale:.{d}f}]"


def _med(entry: dict[str, Any] | None, key: str) -> float | None:
    return entry[key]["median"] if entry and key in entry else None


def _ratio(a: float | None, b: float | None) -> str:
    return f"{b / a:.2f}×" if a and b else "–"


def roles(document: dict[str, Any]) -> list[str]:
    return [f.replace("_", "-") for f in document["settings"]["functions"]]


def function_table(document: dict[str, Any]) -> list[str]:
    head = (
        "| function | variant | spawn → ready s | CPU s to ready | event at zero → reply s "
        "| warm p50 / p99 ms | idle RSS MiB | idle PSS MiB | idle USS MiB | peak RSS MiB |"
    )
    lines = [head, "|" + "---|" * 10]
    for role in roles(document):
        for variant in VARIANTS:
            entry = document["functions"][f"{role}-{variant}"]["summary"]
            warm = (
                f"{entry['warm_p50_s'] * 1000:.0f} / {entry['warm_p99_s'] * 1000:.0f}"
                if "warm_p50_s" in entry
                else "–"
            )
            memory = " | ".join(
                _m(entry, key, digits=1)
                for key in ("idle_rss_mib", "idle_pss_mib", "idle_uss_mib", "peak_rss_mib")
            )
            lines.append(
                f"| {role} | {variant} | {_m(entry, 'ready_s')} | {_m(entry, 'cpu_s')} "
                f"| {_m(entry, 'event_at_zero_s')} | {warm} | {memory} |"
            )
    return lines


def ratio_table(document: dict[str, Any]) -> list[str]:
    keys = ("ready_s", "event_at_zero_s", "cpu_s", "idle_rss_mib", "idle_pss_mib", "peak_rss_mib")
    lines = ["| function | " + " | ".join(keys) + " |", "|" + "---|" * (len(keys) + 1)]
    for role, ratios in document["ratios"].items():
        cells = [f"{ratios[k]:.2f}×" if k in ratios else "–" for k in keys]
        lines.append(f"| {role} | " + " | ".join(cells) + " |")
    return lines


def render_markdown(document: dict[str, Any], source: str) -> str:
    """The full ``latest.md``: a template in document order (long as the page is)."""
    machine, settings = document["machine"], document["settings"]
    lines = [
        f"# Bench results: `{source}`",
        "",
        f"Machine: {machine['cpu']}, {machine['cores']} cores, {machine['memory_gib']} GiB, "
        f"Python {machine['python']}, commit `{machine['commit']}`. Runs: {settings['runs']} per "
        f"function × variant, interleaved; {settings['warm_events']} warm events per run. "
        f"Bytecode compiled: {document['bytecode_compiled']}.",
        "",
        "Model: a zero-latency scripted Ollama-API server (the function is measured, not the "
        "model). Figures: median [min–max].",
        "",
        "## Per function",
        "",
        *function_table(document),
        "",
        "## crewai / agno (ratio of medians)",
        "",
        *ratio_table(document),
        "",
        "## Footprint of each variant's environment",
        "",
        "| variant | packages | installed MiB | compressed MiB | .pyc files | OCI image |",
        "|---|---|---|---|---|---|",
    ]
    for variant, f in document["footprint"].items():
        compressed = f"{f['compressed_mib']:.1f}" if f["compressed_mib"] is not None else "–"
        shown = f.get("image") or {"built": False, "reason": "see Images"}
        image = shown.get("size") if shown["built"] else f"not built: {shown['reason']}"
        lines.append(
            f"| {variant} | {f['packages']} | {f['installed_mib']:.1f} | {compressed} "
            f"| {f['pyc_files']} | {image} |"
        )
    lines += ["", "## Where start-up time goes (`python -X importtime`, self time)", ""]
    for service, profile in document["imports"].items():
        top = ", ".join(f"{t['package']} {t['self_s']:.2f}" for t in profile["top"][:8])
        lines.append(f"- **{service}** (imports {profile['total_s']:.2f} s): {top}")
    task = document.get("review_task")
    if task:
        lines += [
            "",
            f"## Code-review task ({task['model']})",
            "",
            "| variant | spawn s | run s | report s |",
            "|---|---|---|---|",
        ]
        for variant, entry in task["summary"].items():
            lines.append(
                f"| {variant} | {_m(entry, 'spawn_s')} | {_m(entry, 'run_s')} "
                f"| {_m(entry, 'report_s')} |"
            )
    if document.get("pi4"):
        lines += ["", "## Pi 4 profile (4 GiB memory budget, cgroup v1)", ""]
        for service, entry in document["pi4"].items():
            if not entry["measured"]:
                lines.append(f"- **{service}**: not measured: {entry['reason']}")
                continue
            lines.append(
                f"- **{service}**: {entry['max_concurrent_instances']} instances at once "
                f"(spawned {entry['spawned']}, OOM kills {entry['oom_kills']}, stopped by "
                f"{entry['stopped_by']}; peak usage {entry['peak_usage_mib']:.0f} MiB; CPU: "
                f"{entry['cpu']})"
            )
            burst = entry.get("burst") or {}
            if burst.get("measured"):
                latency = (
                    f"{burst['latency_p50_s']:.1f} s / {burst['latency_p99_s']:.1f} s"
                    if burst["answered"]
                    else "–"
                )
                lines.append(
                    f"  - burst of {burst['events']} events at zero scale (containerConcurrency "
                    f"1): {burst['answered']} answered, {burst['failed']} failed "
                    f"{burst['failures'] or ''}, OOM kills {burst['oom_kills']}, peak "
                    f"{burst['peak_usage_mib']:.0f} MiB; send → reply p50 / p99 {latency}"
                )
    return "\n".join(lines) + "\n"


def render_readme(document: dict[str, Any], source: str) -> str:
    """The README section: the comparison next to the seed's claims, and the plots; a
    template in document order (long as the section is)."""
    fn = document["functions"]
    reviewer = {v: fn.get(f"code-reviewer-{v}", {}).get("summary") for v in VARIANTS}
    agno, crewai = reviewer["agno"], reviewer["crewai"]
    foot = document["footprint"]
    lines = [
        BEGIN,
        f"Measured by `make bench` (`{source}`; {document['machine']['cpu']}, "
        f"{document['machine']['cores']} cores, commit `{document['machine']['commit']}`). "
        "Medians; spread and every other figure in `bench/results/latest.md`.",
        "",
        "| code reviewer | seed agno | seed crewai | measured agno | measured crewai "
        "| crewai / agno |",
        "|---|---|---|---|---|---|",
    ]

    def row(label: str, seed: str, a: float | None, c: float | None, fmt: str) -> None:
        cells = [fmt.format(a) if a is not None else "–", fmt.format(c) if c is not None else "–"]
        claimed = f"{SEED[seed][0]} | {SEED[seed][1]}"
        lines.append(f"| {label} | {claimed} | {cells[0]} | {cells[1]} | {_ratio(a, c)} |")

    row(
        "cold start: event at zero → reply",
        "cold start",
        _med(agno, "event_at_zero_s"),
        _med(crewai, "event_at_zero_s"),
        "{:.2f} s",
    )
    row(
        "idle memory (PSS)",
        "memory",
        _med(agno, "idle_pss_mib"),
        _med(crewai, "idle_pss_mib"),
        "{:.0f} MiB",
    )
    fa, fc = foot.get("agno", {}), foot.get("crewai", {})
    row(
        "dependencies, compressed (no image built)",
        "image",
        fa.get("compressed_mib"),
        fc.get("compressed_mib"),
        "{:.0f} MiB",
    )
    row("packages installed", "packages", fa.get("packages"), fc.get("packages"), "{:.0f}")
    task = (document.get("review_task") or {}).get("summary", {})
    totals = {
        v: sum(
            task[v][k]["median"] for k in ("spawn_s", "run_s", "report_s") if k in task.get(v, {})
        )
        if v in task
        else None
        for v in VARIANTS
    }
    row(
        "code-review task (embedded model)",
        "code-review task",
        totals["agno"],
        totals["crewai"],
        "{:.1f} s",
    )
    pi4 = {v: (document.get("pi4") or {}).get(f"code-reviewer-{v}") or {} for v in VARIANTS}
    if any(entry.get("measured") for entry in pi4.values()):
        cells = []
        for v in VARIANTS:
            n, stopped_by = pi4[v].get("max_concurrent_instances"), pi4[v].get("stopped_by", "")
            cells.append(f"≥ {n} (the bench's cap)" if stopped_by.startswith("cap") else f"{n}")
        fa, fc = (pi4[v].get("max_concurrent_instances") for v in VARIANTS)
        lines.append(
            f"| instances that fit 4 GiB (`--profile pi4`) | {SEED['pi'][0]} | {SEED['pi'][1]} "
            f"| {cells[0]} | {cells[1]} | {_ratio(fa, fc)} |"
        )
    lines += [
        "",
        "| function | event at zero → reply (agno / crewai) | spawn → ready | idle PSS MiB "
        "| crewai / agno (event at zero, PSS) |",
        "|---|---|---|---|---|",
    ]
    for role in roles(document):
        a = fn[f"{role}-agno"]["summary"]
        c = fn[f"{role}-crewai"]["summary"]
        lines.append(
            f"| {role} | {_med(a, 'event_at_zero_s'):.2f} s / {_med(c, 'event_at_zero_s'):.2f} s "
            f"| {_med(a, 'ready_s'):.2f} s / {_med(c, 'ready_s'):.2f} s "
            f"| {_med(a, 'idle_pss_mib'):.0f} / {_med(c, 'idle_pss_mib'):.0f} "
            f"| {_ratio(_med(a, 'event_at_zero_s'), _med(c, 'event_at_zero_s'))}, "
            f"{_ratio(_med(a, 'idle_pss_mib'), _med(c, 'idle_pss_mib'))} |"
        )
    lines += [
        "",
        "![cold start](bench/results/plots/cold_start.png)",
        "![memory](bench/results/plots/memory.png)",
        END,
    ]
    return "\n".join(lines)


def plots(document: dict[str, Any], directory: Path) -> list[Path]:
    """Cold start and memory per function, agno next to crewai, min–max as error bars."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    directory.mkdir(parents=True, exist_ok=True)
    names = roles(document)
    made = []
    for filename, title, keys, unit in (
        ("cold_start.png", "Cold start per function", ("ready_s", "event_at_zero_s"), "seconds"),
        ("memory.png", "Idle memory per function", ("idle_rss_mib", "idle_pss_mib"), "MiB"),
    ):
        figure, axes = plt.subplots(1, len(keys), figsize=(5 * len(keys), 3.6))
        for axis, key in zip(axes, keys, strict=True):
            for offset, variant in ((-0.2, "agno"), (0.2, "crewai")):
                entries = [
                    document["functions"][f"{r}-{variant}"]["summary"].get(key) for r in names
                ]
                medians = [e["median"] if e else 0 for e in entries]
                low = [e["median"] - e["min"] if e else 0 for e in entries]
                high = [e["max"] - e["median"] if e else 0 for e in entries]
                xs = [i + offset for i in range(len(names))]
                axis.bar(xs, medians, 0.4, yerr=[low, high], label=variant, capsize=3)
            axis.set_xticks(range(len(names)), names, rotation=15, fontsize=8)
            axis.set_title(key.replace("_", " "), fontsize=9)
            axis.set_ylabel(unit)
            axis.legend(fontsize=8)
        figure.suptitle(f"{title} (median, min–max)", fontsize=10)
        figure.tight_layout()
        path = directory / filename
        figure.savefig(path, dpi=100, metadata={"Software": None})
        plt.close(figure)
        made.append(path)
    return made


def replace_readme_section(text: str, section: str) -> str:
    """``text`` with the part between the markers replaced; ValueError without markers."""
    pattern = re.compile(re.escape(BEGIN) + ".*?" + re.escape(END), re.DOTALL)
    if not pattern.search(text):
        raise ValueError(f"README.md has no {BEGIN} … {END} markers")
    return pattern.sub(lambda _: section, text, count=1)


def regenerate(path: Path, readme: bool = True) -> str:
    """Write ``latest.md`` and the plots next to ``path``; update the README if asked."""
    document = json.loads(path.read_text())
    source = f"bench/results/{path.name}" if path.parent == RESULTS else str(path)
    markdown = render_markdown(document, source)
    (path.parent / "latest.md").write_text(markdown)
    plots(document, path.parent / "plots")
    if readme:
        README.write_text(
            replace_readme_section(README.read_text(), render_readme(document, source))
        )
    return markdown


if __name__ == "__main__":
    print(regenerate(latest()))
    sys.exit(0)

"""The container figures' sections of ``latest.md`` (``binks bench --runtime container``):
per function in a container, what the container adds over the bare process, crewai /
agno in containers; the image sizes (any run); and the plot of process beside container.

Results without containers (or without image sizes) get none of these sections.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bench.report_tables import MIB, m, ratio_table, roles, warm
from bench.results import CONTAINER_RATIO_KEYS
from events import VARIANTS

#: The overhead table's columns: (key in ``container_overhead``, heading, scale, digits).
OVERHEAD_COLUMNS = (
    ("ready_s", "ready s", 1, 2),
    ("cpu_s", "CPU s to ready", 1, 2),
    ("event_at_zero_s", "event at zero s", 1, 2),
    ("warm_p50_s", "warm p50 ms", 1000, 0),
    ("idle_usage_vs_rss_mib", "idle usage − process RSS MiB", 1, 1),
    ("idle_rss_vs_rss_mib", "idle rss − process RSS MiB", 1, 1),
)


def container_sections(document: dict[str, Any]) -> list[str]:
    """Per function in a container, the overhead over the process, crewai / agno."""
    if not document.get("containers"):
        return []
    return [
        "## Per function in a container (the Service's image under podman, its manifest's limits)",
        "",
        *container_table(document),
        "",
        "## What the container adds over the bare process (container − process, medians)",
        "",
        *overhead_table(document),
        "",
        "## crewai / agno in containers (ratio of medians)",
        "",
        *ratio_table(document.get("container_ratios") or {}, CONTAINER_RATIO_KEYS),
        "",
    ]


def container_table(document: dict[str, Any]) -> list[str]:
    """Per function and variant: every container figure, median [min–max]."""
    head = (
        "| function | variant | podman run → ready s | CPU s to ready (cgroup) "
        "| event at zero → reply s | warm p50 / p99 ms | idle usage MiB | idle rss MiB "
        "| idle cache MiB | peak usage MiB | memory limit MiB |"
    )
    lines = [head, "|" + "---|" * 11]
    for role in roles(document):
        for variant in VARIANTS:
            entry = document["containers"][f"{role}-{variant}"]
            summary, limit = entry["summary"], entry.get("settings", {}).get("memory_limit_mib")
            memory = " | ".join(
                m(summary, key, digits=1)
                for key in ("idle_usage_mib", "idle_rss_mib", "idle_cache_mib", "peak_usage_mib")
            )
            lines.append(
                f"| {role} | {variant} | {m(summary, 'ready_s')} | {m(summary, 'cpu_s')} "
                f"| {m(summary, 'event_at_zero_s')} | {warm(summary)} | {memory} "
                f"| {f'{limit:.0f}' if limit else '–'} |"
            )
    return lines


def overhead_table(document: dict[str, Any]) -> list[str]:
    """Container minus process per function and variant, then what each column compares."""
    overhead = document.get("container_overhead") or {}
    heads = " | ".join(heading for _, heading, _, _ in OVERHEAD_COLUMNS)
    lines = [f"| function | variant | {heads} |", "|" + "---|" * (len(OVERHEAD_COLUMNS) + 2)]
    compares: dict[str, str] = {}
    for role in roles(document):
        for variant in VARIANTS:
            rows = overhead.get(f"{role}-{variant}", {})
            cells = []
            for key, _, scale, digits in OVERHEAD_COLUMNS:
                row = rows.get(key)
                cells.append(f"{row['added'] * scale:+.{digits}f}" if row else "–")
                if row:
                    compares[key] = row["compares"]
            lines.append(f"| {role} | {variant} | " + " | ".join(cells) + " |")
    lines.append("")
    for key, heading, _, _ in OVERHEAD_COLUMNS:
        if key in compares:
            lines.append(f"- {heading}: {compares[key]}")
    return lines


def _mib(value: int | None) -> str:
    return f"{value / MIB:.1f}" if value is not None else "–"


def _layers(layers: dict[str, int] | None) -> str:
    if not layers:
        return "–"
    return " / ".join(_mib(layers.get(k)) for k in ("base", "dependencies", "code"))


def images_section(document: dict[str, Any]) -> list[str]:
    """Per image and arch: uncompressed, the pull (gzip, zstd), its layers; which
    measurements are stale (the image built here since is another)."""
    images = document.get("images")
    if not images:
        return []
    lines = [
        "## Images (`make image-sizes`; MiB)",
        "",
        "| image | arch | uncompressed | pull, gzip | pull, zstd | layers base / dependencies "
        "/ code | layers, gzip | layers, zstd |",
        "|---|---|---|---|---|---|---|---|",
    ]
    notes = []
    for entry in images.values():
        name = entry["image"].rsplit("/", 1)[-1]
        if not entry["measured"]:
            notes.append(f"- {name}: {entry['reason']}")
            continue
        for arch, size in entry["arches"].items():
            stale = " (stale)" if entry.get("stale") and arch == entry.get("host_arch") else ""
            lines.append(
                f"| {name} | {arch}{stale} | {_mib(size['uncompressed'])} | {_mib(size['gzip'])} "
                f"| {_mib(size['zstd'])} | {_layers(size['layers'])} "
                f"| {_layers(size['layers_gzip'])} | {_layers(size['layers_zstd'])} |"
            )
        if entry.get("stale_reason"):
            notes.append(f"- {name}: {entry['stale_reason']}")
    return [*lines, "", *notes, ""] if notes else [*lines, ""]


def plot(document: dict[str, Any], directory: Path) -> Path | None:
    """``containers.png``: per function, each variant as a process and in a container
    (cold start, event at zero, idle memory), min–max as error bars; None (and an old
    plot removed) for results without containers."""
    path = directory / "containers.png"
    if not document.get("containers"):
        path.unlink(missing_ok=True)  # a plot of an earlier run would not match the page
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = roles(document)
    panels = (
        ("cold start s (spawn / podman run → ready)", "ready_s", "ready_s"),
        ("event at zero → reply s", "event_at_zero_s", "event_at_zero_s"),
        ("idle MiB (process RSS / container cgroup usage)", "idle_rss_mib", "idle_usage_mib"),
    )
    figure, axes = plt.subplots(1, len(panels), figsize=(5.5 * len(panels), 3.8))
    bars = [(v, runtime) for v in VARIANTS for runtime in ("process", "container")]
    width = 0.8 / len(bars)
    for axis, (title, process_key, container_key) in zip(axes, panels, strict=True):
        for index, (variant, runtime) in enumerate(bars):
            source, key = (
                ("functions", process_key)
                if runtime == "process"
                else ("containers", container_key)
            )
            entries = [document[source][f"{r}-{variant}"]["summary"].get(key) for r in names]
            medians = [e["median"] if e else 0 for e in entries]
            errors = [
                [e["median"] - e["min"] if e else 0 for e in entries],
                [e["max"] - e["median"] if e else 0 for e in entries],
            ]
            xs = [i + (index - (len(bars) - 1) / 2) * width for i in range(len(names))]
            # a variant's colour; its container hatched beside its process
            axis.bar(
                xs,
                medians,
                width,
                yerr=errors,
                label=f"{variant}, {runtime}",
                capsize=2,
                color=f"C{VARIANTS.index(variant)}",
                hatch="//" if runtime == "container" else None,
                edgecolor="white" if runtime == "container" else None,
            )
        axis.set_xticks(range(len(names)), names, rotation=15, fontsize=8)
        axis.set_title(title, fontsize=9)
        axis.legend(fontsize=7)
    figure.suptitle("Process vs container per function (median, min–max)", fontsize=10)
    figure.tight_layout()
    figure.savefig(path, dpi=100, metadata={"Software": None})
    plt.close(figure)
    return path

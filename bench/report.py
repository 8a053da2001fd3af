"""Turn a bench results file into ``latest.md``, PNG plots and the README's table.

Every number shown is read from the results file; nothing is typed in by hand. The
README section between the markers is regenerated here, and a test checks that it
matches the newest committed results (``python -m bench.report`` rewrites it). The
sections live by concern: process figures in ``bench.report_tables``, containers and
images in ``bench.report_containers``, the README's in ``bench.report_readme``.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

from bench import report_containers
from bench.report_readme import BEGIN, END, SEED, render_readme
from bench.report_tables import (
    footprint_section,
    function_table,
    imports_section,
    pi4_section,
    ratio_table,
    review_task_section,
    roles,
)
from bench.results import RESULTS
from localknative.paths import REPO

README = REPO / "README.md"
__all__ = ["BEGIN", "END", "README", "SEED", "latest", "regenerate", "render_markdown"]
__all__ += ["render_readme", "replace_readme_section"]


def latest(directory: Path = RESULTS) -> Path:
    """The newest full bench results file (names start with their timestamp)."""
    found = sorted(directory.glob("*-bench.json"))
    if not found:
        raise FileNotFoundError(f"no *-bench.json in {directory}: run `make bench`")
    return found[-1]


def render_markdown(document: dict[str, Any], source: str) -> str:
    """The full ``latest.md``: the sections in order, container ones where measured."""
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
        *ratio_table(document["ratios"]),
        "",
        *report_containers.container_sections(document),
        *footprint_section(document),
        "",
        *report_containers.images_section(document),
        *imports_section(document),
        *review_task_section(document),
        *pi4_section(document),
    ]
    return "\n".join(lines) + "\n"


def plots(document: dict[str, Any], directory: Path) -> list[Path]:
    """Cold start and memory per function, agno next to crewai, min–max as error bars;
    with containers, process beside container too (``containers.png``)."""
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
    beside = report_containers.plot(document, directory)  # process vs container, if measured
    return [*made, beside] if beside else made


def replace_readme_section(text: str, section: str, begin: str = BEGIN, end: str = END) -> str:
    """``text`` with the part between the markers replaced (``section`` carries them);
    ValueError without markers."""
    pattern = re.compile(re.escape(begin) + ".*?" + re.escape(end), re.DOTALL)
    if not pattern.search(text):
        raise ValueError(f"README.md has no {begin} … {end} markers")
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

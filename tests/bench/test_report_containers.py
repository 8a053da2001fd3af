"""latest.md's container sections and the process-vs-container plot, from a small
synthetic document (``synthetic.document``); results without containers get none."""

# ruff: noqa: RUF001, RUF003  (the tables' en dashes, minus signs and × are what is checked)

from __future__ import annotations

from pathlib import Path

from bench import report, report_containers

from .synthetic import document


def _section(markdown: str, heading: str) -> list[str]:
    """The lines of the section under ``heading`` (up to the next heading)."""
    lines = markdown.splitlines()
    start = lines.index(heading) + 1
    end = next((i for i in range(start, len(lines)) if lines[i].startswith("## ")), len(lines))
    return [line for line in lines[start:end] if line]


def test_the_container_table_sits_next_to_the_process_one() -> None:
    markdown = report.render_markdown(document(), "synthetic.json")
    table = _section(
        markdown,
        "## Per function in a container (the Service's image under podman, its manifest's limits)",
    )
    print("\n".join(table))
    assert markdown.index("## Per function\n") < markdown.index("## Per function in a container")
    agno = next(row for row in table if "| agno |" in row)
    # podman run → ready 1.5, 1.6, 1.7 s; idle usage 49 MiB; the manifest's limit 160 MiB
    assert "| 1.60 [1.50–1.70] |" in agno and "| 49.0 [49.0–49.0] |" in agno
    assert agno.endswith("| 160 |")


def test_what_the_container_adds_is_signed_and_says_what_it_compares() -> None:
    lines = _section(
        report.render_markdown(document(), "synthetic.json"),
        "## What the container adds over the bare process (container − process, medians)",
    )
    print("\n".join(lines))
    crewai = next(line for line in lines if "| crewai |" in line)
    # ready: 5.6 − 5.1 s; idle usage 144 − process RSS 160; idle rss 140 − 160 MiB
    assert crewai.startswith("| code-reviewer | crewai | +0.50 |")
    assert "| -16.0 | -20.0 |" in crewai
    explained = [line for line in lines if line.startswith("- ")]
    assert len(explained) == len(report_containers.OVERHEAD_COLUMNS)
    assert any("cgroup usage" in line and "process's RSS" in line for line in explained)


def test_container_ratios_and_image_sizes_per_arch() -> None:
    markdown = report.render_markdown(document(), "synthetic.json")
    ratios = _section(markdown, "## crewai / agno in containers (ratio of medians)")
    assert ratios[0].startswith("| function | ready_s |") and "idle_usage_mib" in ratios[0]
    images = _section(markdown, "## Images (`make image-sizes`; MiB)")
    print("\n".join(images))
    rows = [line for line in images if line.startswith("| code-reviewer")]
    assert len(rows) == 4  # two images × two arches
    # crewai's amd64 image was rebuilt since it was measured: marked, and why
    assert "| code-reviewer-crewai:0.1.0 | amd64 (stale) | 1065.0 | 355.0 |" in images[4]
    assert images[-1] == "- code-reviewer-crewai:0.1.0: rebuilt since: run make image-sizes"


def test_an_image_not_measured_says_which_command_measures_it() -> None:
    doc = document()
    doc["images"]["code-reviewer-agno"] = {
        "image": "r/code-reviewer-agno:0.1.0",
        "measured": False,
        "reason": "not measured: run make image-sizes",
    }
    images = _section(report.render_markdown(doc, "s"), "## Images (`make image-sizes`; MiB)")
    assert "- code-reviewer-agno:0.1.0: not measured: run make image-sizes" in images


def test_the_pi4_section_shows_both_runtimes() -> None:
    lines = _section(
        report.render_markdown(document(), "s"), "## Pi 4 profile (4 GiB memory budget, cgroup v1)"
    )
    print("\n".join(lines))
    heads = [line.split(":")[0] for line in lines if line.startswith("- ")]
    assert heads == [
        "- **code-reviewer-agno**",
        "- **code-reviewer-crewai**",
        "- **code-reviewer-agno** in containers",
        "- **code-reviewer-crewai** in containers",
    ]
    assert "stopped by cap of 200 instances" in lines[4]


def test_results_without_containers_have_no_container_sections() -> None:
    markdown = report.render_markdown(document(with_containers=False), "s")
    assert "in a container" not in markdown and "in containers" not in markdown
    assert "## Images" in markdown  # image sizes are read in any run


def test_the_plot_of_process_beside_container(tmp_path: Path) -> None:
    made = report.plots(document(), tmp_path)
    assert [p.name for p in made] == ["cold_start.png", "memory.png", "containers.png"]
    assert (tmp_path / "containers.png").stat().st_size > 0
    # results without containers: no such plot, and an earlier one goes (it would not match)
    made = report.plots(document(with_containers=False), tmp_path)
    assert [p.name for p in made] == ["cold_start.png", "memory.png"]
    assert not (tmp_path / "containers.png").exists()

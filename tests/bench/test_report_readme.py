"""The README's bench section with containers: the image and the container rows next to
the seed's claims, container figures beside process ones; without: as before."""

# ruff: noqa: RUF001, RUF003  (the tables' en dashes, minus signs and × are what is checked)

from __future__ import annotations

from bench import report

from .synthetic import document


def _rows(section: str) -> dict[str, str]:
    """The reviewer table's rows by their first cell."""
    return {
        line.split(" | ")[0].removeprefix("| "): line
        for line in section.splitlines()
        if line.startswith("| ") and " | " in line
    }


def test_the_image_row_sits_next_to_the_seeds_image_claim() -> None:
    rows = _rows(report.render_readme(document(), "synthetic.json"))
    image = rows["image, compressed pull (gzip, amd64) (stale: run make image-sizes)"]
    print(image)
    assert "| 43 MB | 447 MB | 78 MiB | 355 MiB | 4.55× |" in image
    # the seed's image claim moves to the image: the dependencies row has none
    assert (
        "| – | – | 30 MiB | 70 MiB |" in rows["dependencies, compressed (venv, deflate per file)"]
    )


def test_the_cold_start_and_memory_in_a_container_have_rows() -> None:
    rows = _rows(report.render_readme(document(), "synthetic.json"))
    cold = rows["cold start in a container: event at zero → reply"]
    print(cold)
    assert "| 0.4 s | 3.2 s | 1.90 s | 5.90 s | 3.11× |" in cold
    assert "| 49 MiB | 144 MiB |" in rows["idle memory in a container (cgroup usage)"]


def test_the_pi4_row_for_containers_says_where_the_cap_stopped_it() -> None:
    rows = _rows(report.render_readme(document(), "synthetic.json"))
    row = rows["containers that fit 4 GiB (`--profile pi4 --runtime container`)"]
    print(row)
    assert "| ≥ 200 (the bench's cap) | 25 |" in row
    assert "| 80 | 29 |" in rows["instances that fit 4 GiB (`--profile pi4`)"]


def test_each_function_shows_its_container_figures_beside_the_process_ones() -> None:
    section = report.render_readme(document(), "synthetic.json")
    line = next(row for row in section.splitlines() if row.startswith("| code-reviewer |"))
    print(line)
    cells = line.split(" | ")
    assert cells[1:5] == [
        "1.30 s / 5.30 s",
        "1.90 s / 5.90 s",
        "1.10 s / 5.10 s",
        "1.60 s / 5.60 s",
    ]
    assert "![process vs container](bench/results/plots/containers.png)" in section


def test_without_containers_the_section_has_no_container_rows() -> None:
    section = report.render_readme(document(with_containers=False), "synthetic.json")
    assert "container" not in section
    assert section.startswith(report.BEGIN) and section.endswith(report.END)

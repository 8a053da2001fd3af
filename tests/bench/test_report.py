"""The bench's outputs: the README shows the newest committed results, and a quick run
produces every file (no timing is asserted anywhere)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench import report
from binks import cli


def test_the_readme_table_comes_from_the_newest_results_file() -> None:
    newest = report.latest()
    document = json.loads(newest.read_text())
    section = report.render_readme(document, f"bench/results/{newest.name}")
    readme = report.README.read_text()
    assert section in readme, "README is stale: run `.venv/bin/python -m bench.report`"
    latest_md = (newest.parent / "latest.md").read_text()
    assert latest_md == report.render_markdown(document, f"bench/results/{newest.name}")


def test_the_readme_section_needs_its_markers() -> None:
    with pytest.raises(ValueError, match="markers"):
        report.replace_readme_section("no markers here", "x")
    text = f"a\n{report.BEGIN}\nold\n{report.END}\nb"
    assert report.replace_readme_section(text, "NEW") == "a\nNEW\nb"


@pytest.mark.process
def test_quick_mode_measures_and_writes_every_file(tmp_path: Path) -> None:
    assert cli.main(["bench", "--quick", "--output", str(tmp_path)]) == 0
    (results,) = tmp_path.glob("*-bench.json")
    document = json.loads(results.read_text())
    for service in ("code-reviewer-agno", "code-reviewer-crewai"):
        summary = document["functions"][service]["summary"]
        assert {"ready_s", "event_at_zero_s", "idle_pss_mib", "warm_p99_s"} <= set(summary)
        assert document["imports"][service]["top"]
    assert document["bytecode_compiled"] == {"agno": True, "crewai": True}
    assert "code-reviewer" in document["ratios"]
    assert (tmp_path / "latest.md").read_text().startswith("# Bench results")
    assert {p.name for p in (tmp_path / "plots").glob("*.png")} == {"cold_start.png", "memory.png"}

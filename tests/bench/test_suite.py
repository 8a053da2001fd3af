"""bench.suite: which runtimes each run measures and in which order, the summaries and
ratios; a quick run with ``--runtime container`` writes every file (nothing timed)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench import suite
from binks import cli
from tests.podman import image, needs


def test_a_process_run_measures_processes_only() -> None:
    assert [suite.runtimes(n, "process") for n in (1, 2)] == [("process",), ("process",)]


def test_with_containers_the_first_runtime_alternates_as_the_variants_do() -> None:
    order = list(suite._interleaved(("code_reviewer",), 2, "container"))
    print(order)
    assert order == [
        ("code_reviewer", "agno", "process"),
        ("code_reviewer", "agno", "container"),
        ("code_reviewer", "crewai", "process"),
        ("code_reviewer", "crewai", "container"),
        ("code_reviewer", "crewai", "container"),
        ("code_reviewer", "crewai", "process"),
        ("code_reviewer", "agno", "container"),
        ("code_reviewer", "agno", "process"),
    ]


def test_a_containers_figures_are_summarised_like_a_processes() -> None:
    rows = {
        "spawn": [{"ready_s": r, "idle_usage_mib": 50.0 + r} for r in (1.0, 2.0, 3.0)],
        "events": [
            {"event_at_zero_s": 1.0, "warm_s": [0.1, 0.3], "peak_usage_mib": 60.0, "rss_mib": 55.0}
        ],
    }
    summary = suite.summarise(rows)
    print(summary)
    assert set(summary) == {
        "ready_s",
        "idle_usage_mib",
        "event_at_zero_s",
        "peak_usage_mib",
        "rss_mib",
        "warm_p50_s",
        "warm_p99_s",
    }
    assert summary["ready_s"]["median"] == 2.0 and summary["warm_p99_s"] == 0.3


def test_ratios_take_the_figures_asked_for() -> None:
    entries = {
        f"f-{v}": {"summary": {"idle_usage_mib": {"median": m}, "ready_s": {"median": 1.0}}}
        for v, m in (("agno", 50.0), ("crewai", 150.0))
    }
    assert suite.ratios(entries, ("idle_usage_mib",)) == {"f": {"idle_usage_mib": 3.0}}


@pytest.mark.process
def test_quick_mode_with_containers_measures_both_runtimes(tmp_path: Path) -> None:
    needs([image("code-reviewer-agno"), image("code-reviewer-crewai")])
    assert cli.main(["bench", "--quick", "--runtime", "container", "--output", str(tmp_path)]) == 0
    (results,) = tmp_path.glob("*-bench.json")
    document = json.loads(results.read_text())
    assert document["settings"]["runtime"] == "container"
    for service in ("code-reviewer-agno", "code-reviewer-crewai"):
        boxed = document["containers"][service]["summary"]
        print(service, {k: v["median"] if isinstance(v, dict) else v for k, v in boxed.items()})
        assert {"ready_s", "cpu_s", "idle_usage_mib", "event_at_zero_s", "peak_usage_mib"} <= set(
            boxed
        )
        assert document["container_overhead"][service]["ready_s"]["compares"]
        assert document["images"][service]["image"].endswith(f"{service}:0.1.0")
    assert "code-reviewer" in document["container_ratios"]
    markdown = (tmp_path / "latest.md").read_text()
    assert "## What the container adds over the bare process" in markdown
    plots = {p.name for p in (tmp_path / "plots").glob("*.png")}
    assert plots == {"cold_start.png", "memory.png", "containers.png"}

"""``bench.snapshot``'s figures: summaries, ratios, tables and the README section, from
synthetic samples; the committed README section is the newest result file's."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench import snapshot
from bench.report import README

TIMES = "\u00d7"  # the tables' multiplication sign
SAMPLE = {"cpu_s": 1.0, "rss_mib": 60.0, "pss_mib": 55.0, "uss_mib": 50.0}


def document() -> dict:
    samples = {
        "reporter-agno": {
            "cold": [{**SAMPLE, "ready_s": 1.0, "event_at_zero_s": 1.2}] * 3,
            "restored": [{**SAMPLE, "ready_s": 0.1, "event_at_zero_s": 0.3, "pss_mib": 50.0}] * 3,
        },
        "reporter-crewai": {"cold": [], "restored": []},  # not measured: left out
    }
    return {
        "runs": 3,
        "criu": "Version: 4.2.1",
        "machine": {"cpu": "AMD EPYC", "cores": 2, "commit": "abc1234"},
        "samples": samples,
        "summary": snapshot.summarize(samples),
        "checkpoints": {"reporter-agno": {"raw_mib": 49.7, "gzip_mib": 12.1, "dump_s": 0.09}},
        "pi4_burst": {
            "code-reviewer-agno/snapshot": {
                "measured": True,
                "events": 40,
                "answered": 40,
                "failed": 0,
                "oom_kills": 0,
                "latency_p50_s": 0.5,
                "latency_p99_s": 1.25,
                "peak_usage_mib": 2100.4,
            },
            "code-reviewer-crewai/cold": {"measured": False, "reason": "no cgroups"},
        },
    }


def test_restored_over_cold_is_the_ratio_of_the_medians() -> None:
    summary = document()["summary"]
    print(summary)
    assert list(summary) == ["reporter-agno"]
    ratio = summary["reporter-agno"]["restored_over_cold"]
    assert ratio["ready_s"] == pytest.approx(0.1) and ratio["event_at_zero_s"] == pytest.approx(
        0.25
    )


def test_the_tables_show_both_starts_the_checkpoint_and_the_bursts() -> None:
    table = snapshot.report(document())
    print(table)
    assert (
        f"| reporter-agno | 1.00 / 0.10 s | 0.100{TIMES} "
        f"| 1.20 / 0.30 s | 0.25{TIMES} | 55 / 50 MiB " in table
    )
    assert "| 50 / 12 MiB | 0.09 s |" in table
    bursts = snapshot.burst_table(document())
    print(bursts)
    assert "| code-reviewer-agno | snapshot | 40/40 | 0 | 0 | 0.50 / 1.25 s | 2100 MiB |" in bursts
    assert "| code-reviewer-crewai | cold | not measured: no cgroups |" in bursts


def test_the_readme_section_names_its_source_and_command(tmp_path: Path) -> None:
    section = snapshot.readme_section(document(), "bench/results/x-snapshot.json")
    assert section.startswith(snapshot.BEGIN) and section.endswith(snapshot.END)
    assert "`binks bench snapshot --runs 3 --profile pi4`" in section
    assert "`bench/results/x-snapshot.json`" in section and "Version: 4.2.1" in section


def test_the_readme_shows_the_newest_snapshot_result() -> None:
    import json

    newest = snapshot.newest()
    expected = snapshot.readme_section(
        json.loads(newest.read_text()), f"bench/results/{newest.name}"
    )
    assert expected in README.read_text(), f"run: python -m bench.snapshot --readme ({newest.name})"

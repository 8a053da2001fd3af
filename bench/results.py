"""Where benchmark results go: ``bench/results/<timestamp>-<host>-<kind>.json``."""

from __future__ import annotations

import json
import os
import platform
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

from localknative.paths import REPO

RESULTS = Path(__file__).parent / "results"
#: The figures compared as crewai / agno (ratio of medians): of processes, of containers.
RATIO_KEYS = ("ready_s", "event_at_zero_s", "cpu_s", "idle_rss_mib", "idle_pss_mib", "peak_rss_mib")
CONTAINER_RATIO_KEYS = (
    "ready_s",
    "event_at_zero_s",
    "cpu_s",
    "idle_usage_mib",
    "idle_rss_mib",
    "peak_usage_mib",
)


def machine() -> dict[str, Any]:
    """The facts a reader needs to compare figures: host, CPU, cores, memory, Python, commit."""
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    memory_kib = next(
        (
            int(line.split()[1])
            for line in Path("/proc/meminfo").read_text().splitlines()
            if line.startswith("MemTotal:")
        ),
        0,
    )
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True
    ).stdout.strip()
    return {
        "host": socket.gethostname(),
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": round(memory_kib / 2**20, 1),
        "python": platform.python_version(),
        "commit": commit,
    }


def save(kind: str, document: dict[str, Any], directory: Path = RESULTS) -> Path:
    """Write one result document (with the machine description) and say where."""
    directory.mkdir(parents=True, exist_ok=True)
    info = machine()
    path = directory / f"{time.strftime('%Y%m%dT%H%M%S')}-{info['host']}-{kind}.json"
    path.write_text(json.dumps({"kind": kind, "machine": info, **document}, indent=2) + "\n")
    print(f"results: {path.relative_to(REPO) if path.is_relative_to(REPO) else path}")
    return path

"""What /proc says about a process tree: CPU seconds, RSS, PSS, USS, peak RSS.

RSS counts shared pages once per process (processes of one instance share the
interpreter's pages), so the sum over a tree overstates what an instance costs;
PSS splits shared pages between their users and USS counts only private ones.
"""

from __future__ import annotations

import os
import statistics
from pathlib import Path

_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time of the processes so far (their exited children not included)."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15)
    return total / _TICKS


def memory(pids: list[int]) -> dict[str, float]:
    """RSS, PSS, USS and peak RSS (VmHWM) summed over ``pids``, in MiB."""
    out = {"rss_mib": 0.0, "pss_mib": 0.0, "uss_mib": 0.0, "peak_rss_mib": 0.0}
    for pid in pids:
        try:
            rollup = Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()
            status = Path(f"/proc/{pid}/status").read_text().splitlines()
        except OSError:
            continue
        kib = {line.split(":")[0]: int(line.split()[1]) for line in rollup[1:] if "kB" in line}
        out["rss_mib"] += kib.get("Rss", 0) / 1024
        out["pss_mib"] += kib.get("Pss", 0) / 1024
        out["uss_mib"] += (kib.get("Private_Clean", 0) + kib.get("Private_Dirty", 0)) / 1024
        hwm = next((line for line in status if line.startswith("VmHWM:")), "VmHWM: 0 kB")
        out["peak_rss_mib"] += int(hwm.split()[1]) / 1024
    return out


def percentile(samples: list[float], q: float) -> float:
    """Nearest-rank percentile (no interpolation: every figure is a measured sample)."""
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def spread(samples: list[float]) -> dict[str, float]:
    """Median, min, max and stdev of a list of samples."""
    return {
        "median": statistics.median(samples),
        "min": min(samples),
        "max": max(samples),
        "stdev": statistics.stdev(samples) if len(samples) > 1 else 0.0,
        "n": len(samples),
    }

"""envs/images/smoke.py: the sizes podman prints, and the smoke summary."""

from __future__ import annotations

import pytest

from envs.images import smoke


def test_podmans_sizes_are_read_as_bytes() -> None:
    assert smoke.parse_size("148.2MB") == 148_200_000
    assert smoke.parse_size("1.5GiB") == 3 * 2**29
    assert smoke.parse_size(" 512B ") == 512
    assert smoke.parse_size("a lot") is None


def test_the_summary_has_readiness_and_memory_per_architecture(
    capsys: pytest.CaptureFixture[str],
) -> None:
    smoke.print_smoke(
        {
            "r/code-reviewer-agno:1": {"amd64": {"ready_s": 2.191, "memory_bytes": 64 * 2**20}},
            "r/worker:1": {"amd64": {"run_s": 0.44}},
        }
    )
    out = capsys.readouterr().out
    assert "amd64 2.19 s, 64 MiB" in out and "amd64 ran in 0.44 s" in out

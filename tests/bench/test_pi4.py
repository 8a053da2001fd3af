"""bench.pi4: a node's budget, its removal with every group podman made under it, and
instances until the first OOM kill, as processes and as containers, in a budget small
enough that the kill comes at the second or third instance (what stopped it is printed;
no count and no time is asserted). Needs a writable cgroup v1 memory controller."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench import pi4
from bench.suite import _scripted_env
from localknative.containers import LABEL
from localknative.instances import FunctionSpec
from modelserver.sample_answers import sample_team
from modelserver.scripted import ScriptedOllama
from tests.podman import image, needs


def _writable() -> None:
    probe = pi4.MEMORY / f"binks-pi4-probe-{os.getpid()}"
    try:
        probe.mkdir()
        probe.rmdir()
    except OSError as problem:
        pytest.skip(f"cgroup v1 memory controller not writable here: {problem}")


def _left() -> list[Path]:
    """Budget groups of this test process that are still there, in any controller."""
    return sorted(pi4.CGROUP.glob(f"*/binks-pi4-*-{os.getpid()}"))


@pytest.fixture
def env() -> Iterator[dict[str, str]]:
    with ScriptedOllama(sample_team()) as model:
        yield _scripted_env(model)


def test_a_budget_goes_with_the_groups_made_under_it() -> None:
    _writable()
    name = f"binks-pi4-test-{os.getpid()}"
    with pi4.budget(name) as node:
        assert node is not None and node.parent == f"/{name}"
        assert int((node.memory / "memory.limit_in_bytes").read_text()) == pi4.BUDGET_BYTES
        # what podman makes under a --cgroup-parent: libpod-<id>, conmon; in other controllers too
        for nested in (node.memory / "libpod-x" / "inner", node.memory / "conmon"):
            nested.mkdir(parents=True)
        (pi4.CGROUP / "pids" / name / "libpod-x").mkdir(parents=True, exist_ok=True)
        print("made:", sorted(str(p) for p in pi4.CGROUP.glob(f"*/{name}")))
        assert node.oom_kills() == 0
    assert _left() == []


@pytest.mark.process
@pytest.mark.parametrize("runtime", ["process", "container"])
def test_instances_start_until_the_kernel_kills_one(
    runtime: str, env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _writable()
    spec = FunctionSpec("code_reviewer", "agno")
    if runtime == "container":
        needs([image(spec.service)])
    # ~50 MiB per agno instance: the second, third or fourth does not fit in 150 MiB
    monkeypatch.setattr(pi4, "BUDGET_BYTES", 150 * 2**20)
    fitted = pi4.max_instances(spec, env, runtime=runtime, cap=8, time_cap_s=300)
    print({k: v for k, v in fitted.items() if k != "ready_s"})
    assert fitted["measured"] and fitted["runtime"] == runtime
    assert "OOM-killed" in fitted["stopped_by"] and fitted["oom_kills"] >= 1
    assert fitted["max_concurrent_instances"] < fitted["spawned"] <= 8
    assert _left() == []
    leftovers = subprocess.run(
        ["podman", "ps", "-aq", "--filter", f"label={LABEL}"], capture_output=True, text=True
    )
    assert runtime == "process" or not leftovers.stdout.split(), leftovers.stdout


@pytest.mark.process
@pytest.mark.parametrize("runtime", ["process", "container"])
def test_a_burst_in_the_budget_is_answered_and_leaves_nothing(
    runtime: str, env: dict[str, str]
) -> None:
    _writable()
    spec = FunctionSpec("code_reviewer", "agno")
    if runtime == "container":
        needs([image(spec.service)])
    result = pi4.burst(spec, env, events=2, runtime=runtime)
    print(result)
    assert result["measured"] and result["runtime"] == runtime
    assert (result["answered"], result["failed"], result["instances_died"]) == (2, 0, 0)
    assert ("podman clients" in result["in_budget"]) is (runtime == "container")
    assert _left() == []

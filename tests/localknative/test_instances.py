"""Instances: the environment each one gets, its memory cgroup, its processes."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from localknative import cgroups
from localknative.instances import (
    FunctionProcess,
    FunctionSpec,
    identity_expanded,
    process_tree,
    rss,
)


def test_identity_references_become_the_instances_own() -> None:
    env = {
        "K_SERVICE": "code-reviewer-agno",
        "K_REVISION": "code-reviewer-agno-00001",
        "OLLAMA_HOST": "http://127.0.0.1:11434/$(K_SERVICE)",
        "NOTE": "$(K_REVISION) of $(K_SERVICE)",
        "OTHER": "$(HOME) and $K_SERVICE stay",
    }
    assert identity_expanded(env) == {
        **env,
        "OLLAMA_HOST": "http://127.0.0.1:11434/code-reviewer-agno",
        "NOTE": "code-reviewer-agno-00001 of code-reviewer-agno",
    }


def test_a_reference_to_an_unset_identity_stays() -> None:
    assert identity_expanded({"A": "$(K_CONFIGURATION)"}) == {"A": "$(K_CONFIGURATION)"}


def test_an_unknown_function_is_refused() -> None:
    with pytest.raises(ValueError, match="no function 'poet'"):
        FunctionSpec("poet", "agno")
    with pytest.raises(ValueError, match="unknown variant"):
        FunctionSpec("code_reviewer", "langchain")


def test_process_tree_and_rss_of_this_process() -> None:
    assert process_tree(os.getpid())[0] == os.getpid()
    assert rss(os.getpid()) > 0
    assert rss(2**22 + 1) == 0  # no such process


def environ(pid: int) -> dict[str, str]:
    raw = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    return dict(item.decode().split("=", 1) for item in raw if b"=" in item)


@pytest.mark.process
def test_an_instance_gets_its_own_service_in_its_env_and_its_own_cgroup() -> None:
    spec = FunctionSpec("code_reviewer", "agno")
    env = {"K_SERVICE": "reviewer", "OLLAMA_HOST": "http://127.0.0.1:9/$(K_SERVICE)"}
    instance = FunctionProcess(spec, env=env, memory_limit_bytes=600 * 2**20).start()
    try:
        instance.wait_ready()
        seen = environ(instance.pid)
        assert seen["OLLAMA_HOST"] == "http://127.0.0.1:9/reviewer"
        assert seen["PORT"] == str(instance.port) and seen["BINKS_BIND"] == "127.0.0.1"
        group = instance.cgroup
        if cgroups.available():  # root with cgroup v1, as on the dev machines and CI
            assert group == cgroups.ROOT / f"reviewer-{instance.pid}"
            assert int((group / "memory.limit_in_bytes").read_text()) == 600 * 2**20
            assert str(instance.pid) in (group / "cgroup.procs").read_text().split()
        else:
            assert group is None
    finally:
        assert instance.stop() == 0
    assert instance.cgroup is None
    if group is not None:
        assert not group.exists()  # it goes with the instance

"""envs/Containerfile, checked without an image builder: its stages, the base as a build
argument, the images' user and entry points, and the build context."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from envs.images import base

REPO = Path(__file__).resolve().parents[2]
CONTAINERFILE = REPO / "envs" / "Containerfile"


def _instructions(stage: str | None = None) -> list[str]:
    """The Containerfile's instructions (continuation lines joined), of one stage or all."""
    text = CONTAINERFILE.read_text().replace("\\\n", " ")
    lines = [line.strip() for line in text.splitlines()]
    lines = [line for line in lines if line and not line.startswith("#")]
    if stage is None:
        return lines
    out, inside = [], False
    for line in lines:
        if line.startswith("FROM "):
            inside = line.endswith(f" AS {stage}")
        if inside:
            out.append(line)
    assert out, f"no stage {stage}"
    return out


def test_both_variants_are_built_by_the_same_steps() -> None:
    # No variant is named in any instruction: only the `deps` build context differs.
    for line in _instructions():
        assert "agno" not in line and "crewai" not in line, line
    deps = _instructions("dependencies")
    assert deps[0].startswith("FROM ${BASE_IMAGE} AS dependencies")
    assert "COPY --from=deps / /" in deps
    assert any("compileall" in line for line in deps)  # bytecode, by the image's python
    function = _instructions("function")
    assert function[0] == "FROM dependencies AS function"
    # the role and variant are declared after the dependency layers: the four roles of a
    # variant share them
    assert "ARG VARIANT" in function and "ARG ROLE" in function
    assert not any(line.startswith("ARG ") for line in deps)
    assert any("BINKS_APP=functions.${ROLE}@${VARIANT}" in line for line in function)
    assert function.index("ARG VARIANT") < function.index("COPY events/ events/")
    last_copy = max(i for i, line in enumerate(function) if line.startswith("COPY "))
    assert any("compileall" in line for line in function[last_copy:])  # our code too


def test_the_base_is_a_build_argument_defaulting_to_the_local_base() -> None:
    lines = _instructions()
    assert "ARG BASE_IMAGE=localhost/binks-base:bookworm-${TARGETARCH}" in lines
    assert base.base_name("arm64") == "localhost/binks-base:bookworm-arm64"
    froms = [line for line in lines if line.startswith("FROM ")]
    assert all(f.startswith(("FROM ${BASE_IMAGE}", "FROM dependencies")) for f in froms)


@pytest.mark.parametrize(
    ("stage", "entrypoint"),
    [
        ("function", ["/usr/bin/python3", "-m", "shared.runtime.serve"]),
        ("worker", ["/usr/bin/python3", "-m", "functions.worker"]),
    ],
)
def test_images_run_as_user_10001_in_exec_form(stage: str, entrypoint: list[str]) -> None:
    lines = _instructions(stage)
    assert "USER 10001:10001" in lines
    (found,) = [line for line in lines if line.startswith("ENTRYPOINT ")]
    assert json.loads(found.removeprefix("ENTRYPOINT ")) == entrypoint  # PID 1 gets SIGTERM
    env = " ".join(line for line in lines if line.startswith("ENV "))
    assert "BINKS_REPO_BASE=/workspace" in env and "HOME=/home/binks" in env
    assert "COPY workspace/ /workspace/" in lines


def test_the_worker_ships_no_dependency_layer() -> None:
    worker = _instructions("worker")
    assert worker[0] == "FROM ${BASE_IMAGE} AS worker"
    assert not any("--from=deps" in line for line in worker)
    # what the worker imports: standard library and shared/files.py only
    source = (REPO / "functions" / "worker" / "__main__.py").read_text()
    imported = set(re.findall(r"^(?:from|import) ([\w.]+)", source, re.M))
    assert imported - {"__future__", "ast", "json", "os", "sys", "pathlib", "typing"} == {
        "shared.files"
    }


def test_the_build_context_lets_in_what_the_containerfile_copies() -> None:
    copied = {
        line.split()[1].split("/")[0] + "/"
        for line in _instructions()
        if line.startswith("COPY ") and "--from=" not in line
    }
    assert copied == {"events/", "shared/", "functions/", "workspace/"}
    for name in (".containerignore", ".dockerignore"):
        lines = [
            line
            for line in (REPO / name).read_text().splitlines()
            if line and not line.startswith("#")
        ]
        assert lines[0] == "*"
        assert {f"!{path}" for path in copied} <= set(lines)

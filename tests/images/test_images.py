"""The image build (envs/Containerfile, envs/images/build.py), checked without an image
builder: names, stages, the build context, the base recipe, the dependency staging and
podman's settings. `make images` itself builds and smoke-checks the images."""

from __future__ import annotations

import importlib.util
import json
import re
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
CONTAINERFILE = REPO / "envs" / "Containerfile"


def _load_build():
    spec = importlib.util.spec_from_file_location(
        "binks_images_build", REPO / "envs/images/build.py"
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


build = _load_build()


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


def _manifest_images() -> set[str]:
    images = set()
    for path in (REPO / "knative" / "base").glob("*.yaml"):
        for doc in yaml.safe_load_all(path.read_text()):
            if not doc or doc.get("kind") != "Service":
                continue
            for container in doc["spec"]["template"]["spec"]["containers"]:
                if "binks-functions" in container["image"]:
                    images.add(container["image"])
    return images


def test_the_images_are_named_as_the_manifests_and_the_orchestrator_name_them() -> None:
    names = {image.name for image in build.all_images("ghcr.io/binks-functions", "0.1.0")}
    functions = {n for n in names if "/worker:" not in n}
    assert functions == _manifest_images()
    assert len(functions) == 2 * len(build.roles()) == 8
    from functions.orchestrator.role import WORKER_IMAGE

    assert WORKER_IMAGE in names
    text = (REPO / "knative" / "base" / "cluster-operator.yaml").read_text()
    assert re.search(r"BINKS_JOB_IMAGES\s+value: ghcr.io/binks-functions/worker\b", text)


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
    assert build.base_name("arm64") == "localhost/binks-base:bookworm-arm64"
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


def test_the_base_recipe_is_the_small_one_and_its_hash_follows_it(monkeypatch) -> None:
    recipe = build.base_recipe("amd64")
    assert "--variant=essential" in recipe and "--arch=amd64" in recipe
    include = next(a for a in recipe if a.startswith("--include="))
    assert {"python3-minimal", "libpython3.11-stdlib", "libstdc++6"} <= set(
        include.removeprefix("--include=").split(",")
    )
    assert build.recipe_hash("amd64") == build.recipe_hash("amd64") != build.recipe_hash("arm64")
    before = build.recipe_hash("amd64")
    monkeypatch.setattr(build, "BASE_PACKAGES", (*build.BASE_PACKAGES, "python3-venv"))
    assert build.recipe_hash("amd64") != before


def test_dependencies_are_installed_for_the_bases_glibc() -> None:
    probe = {"libc": ["glibc", "2.36"], "version": "3.11.2"}
    assert build.platform_tag("amd64", probe) == "x86_64-manylinux_2_36"
    assert build.platform_tag("arm64", probe) == "aarch64-manylinux_2_36"


def test_scripts_are_pointed_at_the_images_python(tmp_path: Path) -> None:
    plain = tmp_path / "flask"
    plain.write_text("#!/work/main/.venv/bin/python\nimport sys\nprint(sys.argv)\n")
    long = tmp_path / "agno"
    long.write_text("#!/bin/sh\n'''exec' \"/a b/python\" \"$0\" \"$@\"\n' '''\nimport sys\n")
    binary = tmp_path / "uv"
    binary.write_bytes(b"\x7fELF\x02\x01python")
    shell = tmp_path / "tool.sh"
    shell.write_text("#!/bin/sh\necho hi\n")
    for script in (plain, long, binary, shell):
        build.fix_shebang(script)
    assert plain.read_text() == "#!/usr/bin/python3\nimport sys\nprint(sys.argv)\n"
    assert long.read_text() == "#!/usr/bin/python3\nimport sys\n"
    assert binary.read_bytes() == b"\x7fELF\x02\x01python"
    assert shell.read_text() == "#!/bin/sh\necho hi\n"


def test_podman_settings_are_written_only_where_podman_has_none(
    tmp_path: Path, monkeypatch, capsys
) -> None:
    import resource

    conf = tmp_path / "containers.conf"
    monkeypatch.setattr(build, "CONF", conf)
    monkeypatch.setattr(build, "is_root", lambda: True)
    monkeypatch.setattr(build, "hybrid_cgroups", lambda: True)
    monkeypatch.setattr(build, "podman_settings_of_its_own", lambda: [])
    limits = {resource.RLIMIT_NOFILE: (1024, 20000), resource.RLIMIT_NPROC: (512, 96362)}
    monkeypatch.setattr(resource, "getrlimit", lambda which: limits[which])
    build.configure_podman()
    text = conf.read_text()
    assert 'default_ulimits = ["nofile=20000:20000", "nproc=4096:4096"]' in text
    assert 'runtime = "runc"' in text and build.CONF_MARK in text
    # an administrator's file is left alone, and the message says what this machine needs
    conf.write_text("[engine]\nruntime = 'crun'\n")
    monkeypatch.setattr(build, "podman_settings_of_its_own", lambda: [str(conf)])
    build.configure_podman()
    assert conf.read_text() == "[engine]\nruntime = 'crun'\n"
    assert "settings of its own" in capsys.readouterr().out
    # a machine that needs nothing gets nothing
    conf.unlink()
    monkeypatch.setattr(build, "podman_settings_of_its_own", lambda: [])
    monkeypatch.setattr(build, "hybrid_cgroups", lambda: False)
    limits[resource.RLIMIT_NOFILE] = (1024, 1048576)
    build.configure_podman()
    assert not conf.exists()


def test_sizes_merge_into_one_json_file(tmp_path: Path) -> None:
    path = tmp_path / "sizes.json"
    entry = {
        "uncompressed": 3,
        "gzip": 2,
        "zstd": 1,
        "layers": {"base": 1, "dependencies": 1, "code": 1},
    }
    build.update_json(path, {"img:1": {"amd64": entry}})
    build.update_json(path, {"img:1": {"arm64": entry}})
    assert json.loads(path.read_text()) == {"img:1": {"amd64": entry, "arm64": entry}}
    assert build.parse_size("148.2MB") == 148_200_000
    assert build.parse_size("1.5GiB") == 3 * 2**29


def test_missing_tools_are_named_when_they_cannot_be_installed(monkeypatch) -> None:
    monkeypatch.setattr(build.shutil, "which", lambda name: None)
    monkeypatch.setattr(build, "is_root", lambda: False)
    with pytest.raises(build.StepFailed) as failure:
        build.ensure_tools(["amd64", "arm64"] if build.HOST_ARCH == "amd64" else ["arm64"])
    message = str(failure.value)
    for package in ("podman", "buildah", "runc", "mmdebstrap"):
        assert package in message
    if build.HOST_ARCH == "amd64":
        assert "qemu-user-static" in message and "binfmt-support" in message

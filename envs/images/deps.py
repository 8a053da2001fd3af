"""The dependencies (step 3): each variant's ``envs/<variant>/uv.lock`` installed with uv,
outside any build, for the base's own Python and glibc into
``.cache/images/deps/<variant>-<arch>/``; then the image layer
``localhost/binks-deps:<variant>-<arch>`` (those files, then their bytecode), checked once
for shared libraries the base lacks."""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path
from typing import Any

from envs.images.base import build_args
from envs.images.host import ARCHES
from envs.images.steps import CACHE, REPO, Step, StepFailed, inspect, podman, run, say

# Where Debian's python3 looks for what is installed locally, outside dpkg's packages.
SITE_DIR = "usr/local/lib/python{minor}/dist-packages"
DEPS_RECIPE_VERSION = 1  # bump to force a reinstall
# Every shared object of the dependencies finds every library it needs, in the image.
DEPS_CHECK = (
    'find /usr/local/lib/python3.11/dist-packages -name "*.so*" -type f | while read -r f; do'
    ' ldd "$f" 2>/dev/null | grep "not found" | sed "s|^|$f: |"; done'
)


def deps_name(variant: str, arch: str) -> str:
    """The dependency layer's image of ``variant`` on ``arch``."""
    return f"localhost/binks-deps:{variant}-{arch}"


def platform_tag(arch: str, probe: dict[str, Any]) -> str:
    """uv's name of the base's platform: manylinux of the base's own glibc (2.36 on bookworm)."""
    major, minor = probe["libc"][1].split(".")[:2]
    return f"{ARCHES[arch].machine}-manylinux_{major}_{minor}"


def deps_key(variant: str, probe: dict[str, Any], tag: str) -> str:
    """A digest of what the installed dependencies of ``variant`` follow from."""
    lock = REPO / "envs" / variant / "uv.lock"
    project = REPO / "envs" / variant / "pyproject.toml"
    return hashlib.sha256(
        b"\0".join(
            [
                lock.read_bytes(),
                project.read_bytes(),
                probe["version"].encode(),
                tag.encode(),
                str(DEPS_RECIPE_VERSION).encode(),
            ]
        )
    ).hexdigest()[:16]


def ensure_deps(uv: str, variant: str, arch: str, probe: dict[str, Any]) -> Path:
    """``envs/<variant>/uv.lock`` installed for the base's python and platform into a
    directory laid out as the image's root (usr/local/...): the `deps` build context."""
    what = f"{variant} {arch}: install dependencies"
    tag = platform_tag(arch, probe)
    key = deps_key(variant, probe, tag)
    root = CACHE / "deps" / f"{variant}-{arch}"
    stamp = root.with_suffix(".stamp")
    if root.is_dir() and stamp.exists() and stamp.read_text().strip() == key:
        say(f"    {what + ': cached':<48}           {root.relative_to(REPO)} ({key})")
        return root
    with Step(what, f"python {probe['version']}, {tag}, envs/{variant}/uv.lock"):
        env = {
            **os.environ,
            "UV_COMPILE_BYTECODE": "0",
            "UV_LINK_MODE": "copy",
            "UV_NO_PROGRESS": "1",
        }
        requirements = export_requirements(uv, variant, env, what)
        staging = root.with_name(root.name + ".new")
        shutil.rmtree(staging, ignore_errors=True)
        install_requirements(uv, requirements, staging, probe, tag, env, what)
        shutil.rmtree(root, ignore_errors=True)
        staging.rename(root)
        stamp.write_text(key + "\n")
    return root


def export_requirements(uv: str, variant: str, env: dict[str, str], what: str) -> Path:
    """``envs/<variant>/uv.lock`` as a requirements file with hashes, the project left out."""
    requirements = CACHE / "deps" / f"{variant}.requirements.txt"
    requirements.parent.mkdir(parents=True, exist_ok=True)
    run(
        [
            uv,
            "export",
            "--locked",
            "--no-dev",
            "--no-emit-project",
            "--format",
            "requirements-txt",
            "--project",
            str(REPO / "envs" / variant),
            "--quiet",
            "-o",
            str(requirements),
        ],
        what,
        env=env,
    )
    return requirements


def install_requirements(
    uv: str,
    requirements: Path,
    staging: Path,
    probe: dict[str, Any],
    tag: str,
    env: dict[str, str],
    what: str,
) -> None:
    """Wheels only, exactly the locked ones, into ``staging`` laid out as the image's root:
    the packages in SITE_DIR, their scripts in usr/local/bin for the image's python."""
    minor = ".".join(probe["version"].split(".")[:2])
    site = staging / SITE_DIR.format(minor=minor)
    run(
        [
            uv,
            "pip",
            "install",
            "--quiet",
            "--target",
            str(site),
            "--python-version",
            probe["version"],
            "--python-platform",
            tag,
            "--require-hashes",
            "--no-deps",
            "--no-build",
            "--no-config",
            "-r",
            str(requirements),
        ],
        what,
        env=env,
        timeout=1800,
    )
    scripts = site / "bin"
    if scripts.is_dir():  # the packages' scripts: where pip puts them, for the image's python
        target = staging / "usr/local/bin"
        target.parent.mkdir(parents=True, exist_ok=True)
        scripts.rename(target)
        for script in target.iterdir():
            fix_shebang(script)


def fix_shebang(script: Path) -> None:
    """A script uv wrote for the host's interpreter, pointed at the image's /usr/bin/python3."""
    try:
        with script.open("rb") as handle:
            head = handle.read(512)
    except OSError:
        return
    if not head.startswith(b"#!"):
        return  # a binary (crewai's dependency uv ships one)
    text = script.read_bytes()
    first, _, rest = text.partition(b"\n")
    if first.startswith(b"#!/bin/sh") and rest.startswith(b"'''exec'"):  # uv's long-path form
        _, _, rest = rest.partition(b"\n")
        rest = rest.partition(b"\n")[2] if rest.startswith(b"' '''") else rest
    elif b"python" not in first:
        return
    script.write_bytes(b"#!/usr/bin/python3\n" + rest)


def ensure_deps_layer(variant: str, arch: str, deps: Path) -> None:
    """The dependency layer of ``variant`` built from ``deps`` (podman's cache makes an
    unchanged one quick), and its shared libraries checked once per layer."""
    what = f"{variant} {arch}: dependency layer"
    with Step(what, deps_name(variant, arch)):
        podman(
            *build_args(arch),
            "--target",
            "dependencies",
            "--build-context",
            f"deps={deps}",
            "-t",
            deps_name(variant, arch),
            ".",
            what=what,
            timeout=3600,
        )
        checked = CACHE / "deps" / f"{variant}-{arch}.checked"
        layer_id = inspect(deps_name(variant, arch))["Id"]
        if checked.exists() and checked.read_text().strip() == layer_id:
            return  # this very layer was checked before (the check costs ~30 s under qemu)
        missing = podman(
            "run",
            "--rm",
            "--network=none",
            f"--arch={arch}",
            deps_name(variant, arch),
            "/bin/sh",
            "-c",
            DEPS_CHECK,
            what=what,
            timeout=1800,
        ).stdout.strip()
        if missing:
            raise StepFailed(what, f"shared libraries missing from the base:\n{missing[:3000]}")
        checked.write_text(layer_id + "\n")

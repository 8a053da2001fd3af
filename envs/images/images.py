"""The images (steps 4 and 6): their names, which of them a command builds, their builds
from envs/Containerfile and their manifest lists."""

from __future__ import annotations

import hashlib
import subprocess
from dataclasses import dataclass
from pathlib import Path

from envs.images.base import build_args
from envs.images.host import ARCHES, HOST_ARCH
from envs.images.steps import REPO, Step, StepFailed, exists, inspect, podman

# The variants and their image names come from the one registry (shared/variants.py,
# standard library only): a new framework there and in envs/<name>/ gets its images.
from shared import variants

VARIANTS = variants.NAMES


@dataclass(frozen=True)
class Image:
    """One image: a function (role, variant) or the worker (role "worker", no variant)."""

    repository: str  # ghcr.io/binks-functions/code-reviewer-agno
    tag: str
    role: str
    variant: str | None

    @property
    def short(self) -> str:
        """The image's name without the registry: ``code-reviewer-agno``."""
        return self.repository.rsplit("/", 1)[-1]

    @property
    def name(self) -> str:
        """The manifest list, as knative/base/*.yaml names it."""
        return f"{self.repository}:{self.tag}"

    def per_arch(self, arch: str) -> str:
        """The image of one architecture: ``<repository>:<tag>-<arch>``."""
        return f"{self.repository}:{self.tag}-{arch}"


def roles() -> list[str]:
    """The roles, one per ``functions/<role>/role.py``."""
    return sorted(p.parent.name for p in (REPO / "functions").glob("*/role.py"))


def all_images(registry: str, tag: str) -> list[Image]:
    """Every image: each role on each variant, then the worker's."""
    images = [
        Image(f"{registry}/{variants.get(variant).service(role)}", tag, role, variant)
        for role in roles()
        for variant in VARIANTS
    ]
    return [*images, Image(f"{registry}/worker", tag, "worker", None)]


def selected(registry: str, tag: str, only: str, platforms: str) -> tuple[list[Image], list[str]]:
    """The images named in ``only`` (all when empty) and the architectures of ``platforms``,
    the native one first; StepFailed ("arguments") for a name or platform not known."""
    images = all_images(registry, tag)
    if only:
        wanted = set(only.replace(",", " ").split())
        unknown = wanted - {i.short for i in images}
        if unknown:
            raise StepFailed(
                "arguments", f"no image named {sorted(unknown)}; known: {[i.short for i in images]}"
            )
        images = [i for i in images if i.short in wanted]
    arches = []
    for platform in platforms.replace(",", " ").split():
        arch = platform.removeprefix("linux/")
        if arch not in ARCHES:
            raise StepFailed("arguments", f"platform {platform}: linux/amd64 or linux/arm64")
        arches.append(arch)
    arches.sort(key=lambda a: a != HOST_ARCH)  # the native architecture first
    return images, arches


#: The label that says which code an image was built from (:func:`code_digest`).
CODE_LABEL = "io.binks.code"


def code_files(role: str) -> list[Path]:
    """What envs/Containerfile copies into ``role``'s image (the worker's: no events/)."""
    roots = ["shared", f"functions/{role}", "workspace"]
    if role != "worker":
        roots.append("events")
    found = [REPO / "functions" / "__init__.py"]
    for root in roots:
        found += [
            p for p in (REPO / root).rglob("*")
            if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"
        ]  # fmt: skip
    return sorted(found)


def code_digest(role: str) -> str:
    """A digest of the code ``role``'s image is built from: an image whose label differs
    was built from other code (tests/podman.py names it stale)."""
    digest = hashlib.sha256()
    for path in code_files(role):
        digest.update(str(path.relative_to(REPO)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def build_image(image: Image, arch: str, deps: Path | None) -> None:
    """``image`` for ``arch`` (a function's on its variant's ``deps``), checked to be of that
    architecture and to run as user 10001."""
    what = f"{image.short} {arch}: build"
    cmd = [*build_args(arch), "--label", f"{CODE_LABEL}={code_digest(image.role)}"]
    if image.variant is None:
        cmd += ["--target", "worker"]
    else:
        cmd += [
            "--target",
            "function",
            "--build-context",
            f"deps={deps}",
            "--build-arg",
            f"VARIANT={image.variant}",
            "--build-arg",
            f"ROLE={image.role}",
        ]
    with Step(what, image.per_arch(arch)):
        podman(*cmd, "-t", image.per_arch(arch), ".", what=what, timeout=3600)
        config = inspect(image.per_arch(arch))
        if (
            config.get("Architecture") != arch
            or config.get("Config", {}).get("User") != "10001:10001"
        ):
            raise StepFailed(
                what, f"built as {config.get('Architecture')}, user {config['Config'].get('User')}"
            )


def make_manifest(image: Image, arches: list[str], push: bool) -> None:
    """``image.name``: a manifest list of its ``arches`` images, plus those of the other
    architectures built here earlier (a build of one architecture, e.g. ``make test``'s,
    must not drop the other from the list); pushed when ``push``."""
    what = f"{image.short}: manifest"
    earlier = [a for a in ARCHES if a not in arches and exists(image.per_arch(a))]
    shown = " + ".join(arches) + "".join(f" + {a} (built earlier)" for a in earlier)
    with Step(what, f"{image.name} = {shown}"):
        subprocess.run(["podman", "manifest", "rm", image.name], capture_output=True)
        if exists(image.name):  # an image (not a list) of that name
            subprocess.run(["podman", "rmi", image.name], capture_output=True)
        podman("manifest", "create", image.name, what=what)
        for arch in [*arches, *earlier]:
            podman(
                "manifest",
                "add",
                image.name,
                f"containers-storage:{image.per_arch(arch)}",
                what=what,
            )
        if push:
            podman("manifest", "push", "--all", image.name, f"docker://{image.name}", what=what)

"""What each variant ships: packages, installed size, compressed size; what each
function's image weighs (``make image-sizes``); where its import time goes
(``python -X importtime``)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import zlib
from pathlib import Path
from typing import Any

from localknative.containers import PODMAN, host_arch
from localknative.paths import REPO
from shared import variants

ENVS = REPO / ".venvs"
#: Written by ``make image-sizes`` (envs/images/sizes.py): per image, per arch.
SIZES = REPO / ".cache" / "images" / "sizes.json"
SIZE_KEYS = ("uncompressed", "gzip", "zstd", "layers", "layers_gzip", "layers_zstd", "id")
NOT_MEASURED = "not measured: run make image-sizes"


def site_packages(variant: str) -> Path:
    found = next((ENVS / variant / "lib").glob("python*/site-packages"), None)
    if found is None:
        raise FileNotFoundError(f".venvs/{variant} is missing: run `make setup` first")
    return found


def bytecode_compiled(variant: str) -> bool:
    """True if the variant's framework was installed with compiled bytecode (as images are)."""
    site = site_packages(variant)
    return any((site / variant / "__pycache__").glob("*.pyc"))


def _files(root: Path):
    for directory, _, names in os.walk(root):
        for name in names:
            path = Path(directory, name)
            if not path.is_symlink():
                yield path


def footprint(variant: str, compress: bool = True) -> dict[str, Any]:
    """Packages, installed bytes, and bytes once compressed (deflate level 6, as gzip image
    layers compress; per file, so a little more than one tar stream would take)."""
    site = site_packages(variant)
    packages = sorted(
        "==".join(p.name.removesuffix(".dist-info").rsplit("-", 1))
        for p in site.glob("*.dist-info")
    )
    installed = compressed = 0
    pyc = 0
    for path in _files(site):
        data = path.read_bytes()
        installed += len(data)
        pyc += path.suffix == ".pyc"
        if compress:
            compressed += len(zlib.compress(data, 6))
    return {
        "packages": len(packages),
        "package_versions": packages,
        "installed_mib": installed / 2**20,
        "compressed_mib": compressed / 2**20 if compress else None,
        "pyc_files": pyc,
    }


def image_sizes(images: dict[str, str], sizes_file: Path = SIZES) -> dict[str, Any]:
    """Per function (``{service: image}``): what its image weighs on each arch, from
    ``make image-sizes`` (uncompressed, gzip and zstd pull size, per layer: base,
    dependencies, code); stale where the host-arch image built here is not the one
    measured; "not measured" where ``sizes_file`` does not list it."""
    try:
        measured = json.loads(sizes_file.read_text())
    except (OSError, ValueError):
        measured = {}
    out: dict[str, Any] = {}
    for service, image in images.items():
        arches = measured.get(image)
        if not arches:
            out[service] = {"image": image, "measured": False, "reason": NOT_MEASURED}
            continue
        out[service] = {
            "image": image,
            "measured": True,
            "arches": {arch: {k: arches[arch].get(k) for k in SIZE_KEYS} for arch in arches},
            **staleness(image, arches),
        }
    return out


def staleness(image: str, arches: dict[str, Any]) -> dict[str, Any]:
    """Whether the host-arch image here (``IMAGE-ARCH``, e.g. ``...:0.1.0-amd64``) is the
    one measured: its id against the id ``make image-sizes`` recorded."""
    arch = host_arch()
    recorded = (arches.get(arch) or {}).get("id")
    tagged = f"{image}-{arch}"
    if recorded is None:
        return {"host_arch": arch, "stale": None, "stale_reason": f"{arch} not measured"}
    if shutil.which(PODMAN) is None:
        return {"host_arch": arch, "stale": None, "stale_reason": "no podman here to compare"}
    shown = subprocess.run(
        [PODMAN, "image", "inspect", "--format", "{{.Id}}", tagged],
        capture_output=True,
        text=True,
        check=False,
    )
    here = shown.stdout.strip().removeprefix("sha256:")
    if shown.returncode or not here:
        return {"host_arch": arch, "stale": None, "stale_reason": f"{tagged} not built here"}
    if here == recorded.removeprefix("sha256:"):
        return {"host_arch": arch, "stale": False}
    return {
        "host_arch": arch,
        "stale": True,
        "stale_reason": f"{tagged} is {here[:12]} here, {recorded[:12]} was measured: "
        "run make image-sizes",
    }


def import_profile(role: str, variant: str, top: int = 12) -> dict[str, Any]:
    """The function's start-up imports (module import and ``create_app()``, which builds
    the framework's agent), timed module by module; the slowest top-level packages."""
    python = ENVS / variant / "bin" / "python"
    module = variants.get(variant).app(role)
    code = f"from shared.runtime.serve import load_app; load_app({module!r})"
    done = subprocess.run(
        [str(python), "-X", "importtime", "-c", code],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    if done.returncode:
        raise RuntimeError(f"importing {module} failed: {done.stderr[-500:]}")
    packages: dict[str, float] = {}
    total_us = 0
    for line in done.stderr.splitlines():
        if not line.startswith("import time:") or "|" not in line or "self [us]" in line:
            continue
        parts = line.split("|")
        self_us, name = int(parts[0].split(":")[1]), parts[2].rstrip()
        depth = len(name) - len(name.lstrip())
        package = name.strip().split(".")[0]
        packages[package] = packages.get(package, 0) + self_us
        if depth == 1:
            total_us += int(parts[1])
    ranked = sorted(packages.items(), key=lambda item: item[1], reverse=True)[:top]
    return {
        "total_s": total_us / 1e6,
        "top": [{"package": name, "self_s": us / 1e6} for name, us in ranked],
    }

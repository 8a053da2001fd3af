#!/usr/bin/env python3
"""Build, check and measure the images of Binks Functions, offline from container registries.

``make images`` and ``make image-sizes`` run this with the machine's python3 (standard
library only)::

    python3 envs/images/build.py images [--platforms linux/amd64,linux/arm64] [--only NAMES]
    python3 envs/images/build.py sizes  [--platforms ...] [--only NAMES]
    python3 envs/images/build.py tools  [--platforms ...]

``images``, per architecture (amd64 first, then arm64 through qemu binfmt):

1. **tools**: podman, buildah, runc, mmdebstrap (and qemu-user-static, binfmt-support for a
   foreign architecture), installed with apt-get when run as root on Debian, otherwise
   named; podman's settings for this kind of machine written only where podman has none of
   its own; binfmt_misc mounted and qemu-aarch64 enabled when arm64 is built.
2. **base**: ``localhost/binks-base:bookworm-<arch>``, built from Debian packages with
   mmdebstrap and ``podman import``-ed; rebuilt only when its recipe (below) changes.
3. **dependencies**: each variant's ``envs/<variant>/uv.lock`` exported and installed with
   uv, outside any build, for the base's own Python version and glibc (asked of the base
   image itself) into ``.cache/images/deps/<variant>-<arch>/``; then the image layer
   ``localhost/binks-deps:<variant>-<arch>`` (those files, then their bytecode compiled by
   the image's interpreter).
4. **images**: one per function (``<registry>/<role>-<variant>:<tag>-<arch>``, the names of
   ``knative/base/*.yaml``) and the worker's (``<registry>/worker:<tag>-<arch>``).
5. **smoke**: each function image started (default network, ``-p 127.0.0.1::8080``) until
   ``/health/readiness`` answers 200, then stopped with SIGTERM: it must exit 0; the worker
   image checks the sample repository and must print its JSON and exit 0.
6. **manifests**: ``<registry>/<name>:<tag>``, a manifest list of the architectures built.

``sizes``: per image and architecture the uncompressed size, the size of the compressed
layers with gzip and with zstd (as podman writes them into an OCI layout), and the part of
each that is the base, the dependencies and our code; written to ``.cache/images/sizes.json``
(image → arch → {uncompressed, gzip, zstd, layers: {base, dependencies, code}, ...} in
bytes) and printed as a table.

Every step prints one line with its time; a failure names the image, the architecture and
the step, and the last lines of that step's log (all logs: ``.cache/images/logs/``). Times
of the last run: ``.cache/images/timings.json``; smoke results: ``.cache/images/smoke.json``.

This file is the command line; the steps are modules of the package ``envs.images``:
``steps`` (running and logging a step), ``host`` (1, tools), ``base`` (2), ``deps`` (3),
``images`` (4 and 6), ``smoke`` (5) and ``sizes``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

# Run as a script (``python3 envs/images/build.py``): the modules are imported as the
# package envs.images, from the repository root, which also holds shared/variants.py.
REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from envs.images.base import ensure_base  # noqa: E402
from envs.images.deps import ensure_deps, ensure_deps_layer  # noqa: E402
from envs.images.host import HOST_ARCH, ensure_tools  # noqa: E402
from envs.images.images import Image, build_image, make_manifest, selected  # noqa: E402
from envs.images.sizes import measure_sizes  # noqa: E402
from envs.images.smoke import print_smoke, smoke  # noqa: E402
from envs.images.steps import CACHE, LOGS, StepFailed, say, update_json, write_timings  # noqa: E402


def chosen(args: argparse.Namespace) -> tuple[list[Image], list[str]]:
    """The images and architectures the arguments name (see images.selected)."""
    return selected(args.registry, args.tag, args.only, args.platforms)


def cmd_images(args: argparse.Namespace) -> None:
    """``images``: tools, then per architecture the base, the dependencies, the images and
    their smoke checks; then the manifest lists (the module's docstring says more)."""
    images, arches = chosen(args)
    started = time.monotonic()
    say(
        f"==> {len(images)} images x {' + '.join(arches)} "
        f"(envs/Containerfile; logs in {LOGS.relative_to(REPO)})"
    )
    ensure_tools(arches)
    smoked: dict[str, dict[str, Any]] = {}
    for arch in arches:
        build_arch(images, arch, args, smoked)
    say("==> manifest lists")
    for image in images:
        make_manifest(image, arches, args.push)
    # a partial build (--only) keeps the full build's timings apart
    write_timings(time.monotonic() - started, "timings-only.json" if args.only else "timings.json")
    if smoked:
        print_smoke(smoked)
    say(
        f"==> done in {time.monotonic() - started:.0f} s: "
        f"{len(images)} images, {' + '.join(arches)}"
    )


def build_arch(
    images: list[Image], arch: str, args: argparse.Namespace, smoked: dict[str, dict[str, Any]]
) -> None:
    """The base, the dependencies and ``images`` of ``arch``, each image smoke-checked
    (unless --no-smoke) into ``smoked`` and ``.cache/images/smoke.json`` as it goes."""
    say(f"==> {arch}{' (under qemu)' if arch != HOST_ARCH else ''}")
    probe = ensure_base(arch)
    say(
        f"    base python {probe['version']}, {probe['libc'][0]} {probe['libc'][1]}, "
        f"{probe['openssl']}"
    )
    deps: dict[str, Path] = {}
    for variant in sorted({i.variant for i in images if i.variant}):
        deps[variant] = ensure_deps(args.uv, variant, arch, probe)
        ensure_deps_layer(variant, arch, deps[variant])
    for n, image in enumerate(images, 1):
        say(f"--> [{n}/{len(images)}] {image.per_arch(arch)}")
        build_image(image, arch, deps.get(image.variant or ""))
        if not args.no_smoke:
            smoked.setdefault(image.name, {})[arch] = smoke(image, arch)
            update_json(CACHE / "smoke.json", {image.name: {arch: smoked[image.name][arch]}})


def main(argv: list[str]) -> int:
    """The command line (see the module's docstring); 0, or 1 after a failed step."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=("images", "sizes", "tools"))
    parser.add_argument("--platforms", default="linux/amd64,linux/arm64")
    parser.add_argument("--only", default="", help="image names, e.g. 'code-reviewer-agno worker'")
    parser.add_argument("--registry", default="ghcr.io/binks-functions")
    parser.add_argument("--tag", default="0.1.0")
    parser.add_argument("--uv", default=str(REPO / ".cache/bootstrap/bin/uv"))
    parser.add_argument("--no-smoke", action="store_true")
    parser.add_argument("--push", action="store_true")
    args = parser.parse_args(argv)
    try:
        if args.command == "images":
            cmd_images(args)
        elif args.command == "sizes":
            measure_sizes(*chosen(args))
        else:
            ensure_tools(chosen(args)[1])
    except StepFailed as failure:
        say(f"!!! {failure.what} failed: {failure.detail}")
        return 1
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

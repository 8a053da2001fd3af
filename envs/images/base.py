"""The base image (step 2): ``localhost/binks-base:bookworm-<arch>``, built from Debian
packages with mmdebstrap and ``podman import``-ed, rebuilt only when its recipe changes;
and every ``podman build`` of envs/Containerfile, which starts from it."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from envs.images.host import ARCHES, is_root
from envs.images.steps import CACHE, REPO, Step, StepFailed, exists, inspect, podman, run, say

CONTAINERFILE = REPO / "envs" / "Containerfile"

# -- the base image: its recipe ----------------------------------------------------------------
# Debian 12's own python3 (3.11.2), from Debian packages: no registry, no python.org build.
# The smaller of the two recipes measured here (/work/shared/reference/containers-here.md):
# mmdebstrap's `essential` variant (Essential: yes packages only, no apt) plus the Python
# interpreter and its standard library, ≈ 94 MB, against ≈ 225 MB for `minbase` with python3
# and python3-venv. It has everything our code and the locked dependencies need: json,
# sqlite3, ssl (OpenSSL 3), ctypes, lzma, bz2, zlib, asyncio, multiprocessing, zoneinfo
# (checked on every build: BASE_PROBE). No venv: the dependencies go to
# /usr/local/lib/python3.11/dist-packages, on Debian's python3 path as it is.
# merged-usr through mmdebstrap's own hook: otherwise `essential` installs the usrmerge
# package, which pulls in all of perl (≈ 50 MB).
SUITE = "bookworm"
MIRRORS = (
    f"deb http://deb.debian.org/debian {SUITE} main",
    f"deb http://deb.debian.org/debian {SUITE}-updates main",
    f"deb http://deb.debian.org/debian-security {SUITE}-security main",
)
# libstdc++6: manylinux wheels may link it (the policy lets them expect it of the system):
# numpy, grpc, onnxruntime, pyarrow for crewai, frozenlist for both. Checked on every build:
# no shared object of the dependencies may miss a library (deps.DEPS_CHECK).
BASE_PACKAGES = ("python3-minimal", "libpython3.11-stdlib", "libstdc++6", "ca-certificates")
BASE_EXCLUDES = ("/usr/share/man/*", "/usr/share/doc/*", "/usr/share/locale/*", "/usr/share/info/*")
BASE_INCLUDES = ("/usr/share/doc/*/copyright",)  # the licences stay
MERGED_USR_HOOK = "/usr/share/mmdebstrap/hooks/merged-usr"
# The images' user: 10001 (binks), no shell, and a home of its own: crewai writes under
# ~/.local/share at start-up whatever XDG_DATA_HOME says (crewai_core's token manager),
# and a home it cannot write (/nonexistent, or / for a user without a passwd line) stops it.
USER_HOOK = (
    'echo "binks:x:10001:10001:Binks function:/home/binks:/usr/sbin/nologin" >> "$1/etc/passwd"'
    ' && echo "binks:x:10001:" >> "$1/etc/group"'
    ' && install -d -m 0700 -o 10001 -g 10001 "$1/home/binks"'
)
# Bytecode for the whole standard library: with python3-minimal and no python3.11 package,
# Debian compiles only libpython3.11-minimal's modules, and half the standard library
# (asyncio, json, http, concurrent, xml, ...) would be compiled again at every cold start.
STDLIB_HOOK = (
    'chroot "$1" /usr/bin/python3.11 -c "import compileall;'
    " compileall.compile_dir('/usr/lib/python3.11', quiet=2, workers=0)\""
)
BASE_CHANGES = ("ENV LANG=C.UTF-8", 'CMD ["/usr/bin/python3"]')
BASE_RECIPE_VERSION = 1  # bump to force a rebuild
BASE_PROBE = """
import asyncio, bz2, ctypes, json, lzma, multiprocessing, os, platform, sqlite3, ssl, sys
import sysconfig, zlib, zoneinfo
from importlib.util import cache_from_source
from pathlib import Path

stdlib = Path(sysconfig.get_path("stdlib"))
uncompiled = [str(p) for p in stdlib.rglob("*.py") if not os.path.exists(cache_from_source(p))]
print(json.dumps({
    "version": platform.python_version(), "machine": platform.machine(),
    "libc": platform.libc_ver(), "openssl": ssl.OPENSSL_VERSION,
    "purelib": sysconfig.get_path("purelib"), "path": sys.path,
    "stdlib_uncompiled": uncompiled,
}))
"""


def base_name(arch: str) -> str:
    """The base image of ``arch``, as envs/Containerfile's BASE_IMAGE defaults to it."""
    return f"localhost/binks-base:{SUITE}-{arch}"


def base_recipe(arch: str) -> list[str]:
    """mmdebstrap's arguments, less the output file: what the base is made of."""
    cmd = [
        "mmdebstrap",
        "--mode=root",
        "--variant=essential",
        f"--arch={arch}",
        f"--hook-dir={MERGED_USR_HOOK}",
        f"--include={','.join(BASE_PACKAGES)}",
        *[f"--dpkgopt=path-exclude={p}" for p in BASE_EXCLUDES],
        *[f"--dpkgopt=path-include={p}" for p in BASE_INCLUDES],
        f"--customize-hook={USER_HOOK}",
        f"--customize-hook={STDLIB_HOOK}",
        SUITE,
    ]
    return cmd


def recipe_hash(arch: str) -> str:
    """A digest of everything the base of ``arch`` is made from (its image's label)."""
    recipe = [*base_recipe(arch), "--", *MIRRORS, "--", *BASE_CHANGES, str(BASE_RECIPE_VERSION)]
    return hashlib.sha256("\0".join(recipe).encode()).hexdigest()[:16]


def ensure_base(arch: str) -> dict[str, Any]:
    """The base image of ``arch``, built unless one of the same recipe exists; its probe."""
    image, digest = base_name(arch), recipe_hash(arch)
    what = f"base {arch}"
    label = ""
    if exists(image):
        label = inspect(image).get("Labels", {}).get("io.binks.base.recipe", "")
    if label == digest:
        say(f"    {what + ': cached':<48}           {image} (recipe {digest})")
    else:
        build_base(arch, image, digest)
    return probe_base(arch, image)


def build_base(arch: str, image: str, digest: str) -> None:
    """mmdebstrap the base of ``arch`` into a tarball and import it as ``image``, labelled
    with its recipe's ``digest``."""
    what = f"base {arch}"
    if not is_root():
        raise StepFailed(what, "mmdebstrap --mode=root needs root (make images as root)")
    CACHE.mkdir(parents=True, exist_ok=True)
    tarball = CACHE / f"base-{arch}.tar"
    with Step(f"{what}: mmdebstrap", f"{SUITE} essential + {' '.join(BASE_PACKAGES)}"):
        run([*base_recipe(arch), str(tarball), *MIRRORS], f"{what}: mmdebstrap", timeout=1800)
    with Step(f"{what}: podman import", image):
        changes = [*BASE_CHANGES, f"LABEL io.binks.base.recipe={digest}"]
        cmd = ["import", f"--arch={arch}", "--os=linux"]
        for change in changes:
            cmd += ["--change", change]
        podman(*cmd, str(tarball), image, what=f"{what}: podman import")
        tarball.unlink()


def probe_base(arch: str, image: str) -> dict[str, Any]:
    """What the base's python3 says of itself (BASE_PROBE); StepFailed unless it is the
    architecture's glibc build with its whole standard library compiled."""
    what = f"base {arch}"
    with Step(f"{what}: probe python"):
        done = podman(
            "run",
            "--rm",
            "--network=none",
            f"--arch={arch}",
            image,
            "/usr/bin/python3",
            "-c",
            BASE_PROBE,
            what=f"{what}: probe python",
            timeout=300,
        )
    probe = json.loads(done.stdout.strip().splitlines()[-1])
    if probe["machine"] != ARCHES[arch].machine or probe["libc"][0] != "glibc":
        raise StepFailed(what, f"the base's python3 says {probe}")
    if probe["stdlib_uncompiled"]:
        raise StepFailed(
            what, f"standard library modules without bytecode: {probe['stdlib_uncompiled'][:20]}"
        )
    return probe


def build_args(arch: str) -> list[str]:
    """``podman build`` of envs/Containerfile for ``arch`` on its local base, offline."""
    return [
        "build",
        f"--platform=linux/{arch}",
        "--pull=never",
        "--layers",
        "-f",
        str(CONTAINERFILE),
        "--build-arg",
        f"BASE_IMAGE={base_name(arch)}",
    ]

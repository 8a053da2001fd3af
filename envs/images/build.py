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
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
CACHE = REPO / ".cache" / "images"
LOGS = CACHE / "logs"
CONTAINERFILE = REPO / "envs" / "Containerfile"
# The variants and their image names come from the one registry (shared/variants.py,
# standard library only): a new framework there and in envs/<name>/ gets its images.
sys.path.insert(0, str(REPO))
from shared import variants  # noqa: E402

VARIANTS = variants.NAMES

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
# no shared object of the dependencies may miss a library (DEPS_CHECK).
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
# Where Debian's python3 looks for what is installed locally, outside dpkg's packages.
SITE_DIR = "usr/local/lib/python{minor}/dist-packages"
DEPS_RECIPE_VERSION = 1  # bump to force a reinstall
# Every shared object of the dependencies finds every library it needs, in the image.
DEPS_CHECK = (
    'find /usr/local/lib/python3.11/dist-packages -name "*.so*" -type f | while read -r f; do'
    ' ldd "$f" 2>/dev/null | grep "not found" | sed "s|^|$f: |"; done'
)


@dataclass(frozen=True)
class Arch:
    name: str  # Debian and OCI: amd64, arm64
    machine: str  # uname -m, manylinux: x86_64, aarch64
    qemu: str | None  # the binfmt entry it needs on an amd64 host


ARCHES = {
    "amd64": Arch("amd64", "x86_64", None),
    "arm64": Arch("arm64", "aarch64", "qemu-aarch64"),
}
HOST_ARCH = {"x86_64": "amd64", "aarch64": "arm64"}.get(os.uname().machine, os.uname().machine)


@dataclass(frozen=True)
class Image:
    """One image: a function (role, variant) or the worker (role "worker", no variant)."""

    repository: str  # ghcr.io/binks-functions/code-reviewer-agno
    tag: str
    role: str
    variant: str | None

    @property
    def short(self) -> str:
        return self.repository.rsplit("/", 1)[-1]

    @property
    def name(self) -> str:  # the manifest list, as knative/base/*.yaml names it
        return f"{self.repository}:{self.tag}"

    def per_arch(self, arch: str) -> str:
        return f"{self.repository}:{self.tag}-{arch}"


def roles() -> list[str]:
    return sorted(p.parent.name for p in (REPO / "functions").glob("*/role.py"))


def all_images(registry: str, tag: str) -> list[Image]:
    images = [
        Image(f"{registry}/{variants.get(variant).service(role)}", tag, role, variant)
        for role in roles()
        for variant in VARIANTS
    ]
    return [*images, Image(f"{registry}/worker", tag, "worker", None)]


def base_name(arch: str) -> str:
    return f"localhost/binks-base:{SUITE}-{arch}"


def deps_name(variant: str, arch: str) -> str:
    return f"localhost/binks-deps:{variant}-{arch}"


# -- running steps -------------------------------------------------------------------------
class StepFailed(Exception):
    def __init__(self, what: str, detail: str) -> None:
        super().__init__(f"{what}: {detail}")
        self.what, self.detail = what, detail


TIMINGS: dict[str, float] = {}


def say(line: str) -> None:
    print(line, flush=True)


def log_path(what: str) -> Path:
    LOGS.mkdir(parents=True, exist_ok=True)
    return LOGS / (re.sub(r"[^A-Za-z0-9.-]+", "_", what).strip("_") + ".log")


def tail(path: Path, lines: int = 25) -> str:
    try:
        text = path.read_text(errors="replace").splitlines()
    except OSError:
        return ""
    return "\n".join("    " + line for line in text[-lines:])


def run(
    cmd: list[str],
    what: str,
    *,
    env: dict[str, str] | None = None,
    timeout: float | None = None,
    check: bool = True,
) -> subprocess.CompletedProcess[str]:
    """Run ``cmd``, its output to the log of ``what``; raise StepFailed naming ``what``."""
    log = log_path(what)
    with log.open("a") as out:
        out.write(f"$ {' '.join(cmd)}\n")
        out.flush()
        try:
            done = subprocess.run(
                cmd,
                stdout=subprocess.PIPE,
                stderr=out,
                stdin=subprocess.DEVNULL,
                text=True,
                env=env,
                timeout=timeout,
                cwd=REPO,
            )
        except subprocess.TimeoutExpired as expired:
            raise StepFailed(what, f"timed out after {timeout:.0f} s; log {log}") from expired
        except FileNotFoundError as missing:
            raise StepFailed(what, f"{cmd[0]} is not installed") from missing
        out.write(done.stdout)
    if check and done.returncode:
        raise StepFailed(
            what, f"exit {done.returncode}: {' '.join(cmd[:4])} …\n{tail(log)}\n  (log {log})"
        )
    return done


class Step:
    """``with Step("code-reviewer-agno amd64: build"):`` times a step and prints one line."""

    def __init__(self, what: str, note: str = "") -> None:
        self.what, self.note = what, note

    def __enter__(self) -> Step:
        self.started = time.monotonic()
        log_path(self.what).write_text("")
        return self

    def __exit__(self, kind, value, _trace) -> None:
        seconds = time.monotonic() - self.started
        if kind is None:
            TIMINGS[self.what] = round(seconds, 2)
            extra = f"  {self.note}" if self.note else ""
            say(f"    {self.what:<48} {seconds:7.1f} s{extra}")
        elif not isinstance(value, StepFailed):
            raise StepFailed(self.what, f"{kind.__name__}: {value}") from value


def podman(*args: str, what: str, **kw: Any) -> subprocess.CompletedProcess[str]:
    return run(["podman", *args], what, **kw)


def exists(image: str) -> bool:
    return (
        subprocess.run(["podman", "image", "exists", image], stdin=subprocess.DEVNULL).returncode
        == 0
    )


def inspect(image: str) -> dict[str, Any]:
    done = subprocess.run(
        ["podman", "image", "inspect", image],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
    )
    if done.returncode:
        raise StepFailed(image, f"not built: {done.stderr.strip()}")
    return json.loads(done.stdout)[0]


# -- 1. tools --------------------------------------------------------------------------------
PACKAGES = {  # command → Debian package
    "podman": "podman",
    "buildah": "buildah",
    "runc": "runc",
    "mmdebstrap": "mmdebstrap",
}
FOREIGN_PACKAGES = {"qemu-aarch64-static": "qemu-user-static", "update-binfmts": "binfmt-support"}
CONF = Path("/etc/containers/containers.conf")
CONF_MARK = "# Written by Binks Functions' `make images` (envs/images/build.py)"
PODMAN_NOFILE = 1048576  # what podman asks for, as root, when nothing says otherwise


def is_root() -> bool:
    return os.geteuid() == 0


def ensure_tools(arches: list[str]) -> None:
    wanted = dict(PACKAGES)
    if any(ARCHES[a].qemu for a in arches if a != HOST_ARCH):
        wanted.update(FOREIGN_PACKAGES)
    missing = sorted({pkg for cmd, pkg in wanted.items() if shutil.which(cmd) is None})
    if missing:
        apt = shutil.which("apt-get") and Path("/etc/debian_version").exists()
        if not (is_root() and apt):
            raise StepFailed(
                "tools",
                f"missing: {' '.join(missing)}. On Debian/Ubuntu, as root: apt-get install -y "
                f"{' '.join(missing)}; elsewhere your distribution's packages of the same names "
                "(podman ≥ 4.3 with buildah, runc, mmdebstrap; qemu-user-static and "
                "binfmt-support for arm64)",
            )
        with Step("tools: apt-get install", " ".join(missing)):
            env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
            run(["apt-get", "update", "-qq"], "tools: apt-get install", env=env)
            run(["apt-get", "install", "-y", "-qq", *missing], "tools: apt-get install", env=env)
    configure_podman()
    for arch in arches:
        if arch != HOST_ARCH:
            enable_binfmt(ARCHES[arch])


def podman_settings_of_its_own() -> list[str]:
    """The containers.conf files an administrator (or the environment) gave podman."""
    found = []
    if os.environ.get("CONTAINERS_CONF"):
        found.append(f"CONTAINERS_CONF={os.environ['CONTAINERS_CONF']}")
    if CONF.exists() and CONF_MARK not in CONF.read_text(errors="replace"):
        found.append(str(CONF))
    found += [str(p) for p in sorted(Path("/etc/containers/containers.conf.d").glob("*.conf"))]
    if not is_root():
        user = Path.home() / ".config/containers/containers.conf"
        if user.exists():
            found.append(str(user))
    return found


def hybrid_cgroups() -> bool:
    """cgroup v1 with a v2 hierarchy beside it ("hybrid"): crun refuses to run there."""
    try:
        mounts = Path("/proc/self/mounts").read_text().splitlines()
    except OSError:
        return False
    v2 = [m.split()[1] for m in mounts if m.split()[2:3] == ["cgroup2"]]
    v1 = [m for m in mounts if m.split()[2:3] == ["cgroup"]]
    return bool(v1) and bool(v2)


def configure_podman() -> None:
    """Write the settings podman needs on this kind of machine, where it has none of its own.

    - The hard limit of open files is below what podman asks for (1048576): every RUN and
      every container fails with ``setrlimit RLIMIT_NOFILE: Operation not permitted``.
    - cgroup v1 "hybrid": crun refuses (``cgroups in hybrid mode not supported``); runc works.
    """
    import resource

    nofile = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    nproc = resource.getrlimit(resource.RLIMIT_NPROC)[1]
    reasons = []
    if nofile != resource.RLIM_INFINITY and nofile < PODMAN_NOFILE:
        reasons.append(f"the hard limit of open files is {nofile} (< {PODMAN_NOFILE})")
    if hybrid_cgroups():
        reasons.append("cgroups are v1 with a v2 hierarchy beside them (hybrid: crun refuses)")
    if not reasons:
        return
    own = podman_settings_of_its_own()
    if own:
        say(
            f"==> podman has settings of its own ({', '.join(own)}): left as they are. On this "
            f"machine {'; '.join(reasons)}: if containers fail to start, set there "
            '[containers] default_ulimits = ["nofile=N:N", "nproc=4096:4096"] (N at most the '
            'hard limit) and [engine] runtime = "runc".'
        )
        return
    limit = nofile if nofile != resource.RLIM_INFINITY else PODMAN_NOFILE
    procs = 4096 if nproc == resource.RLIM_INFINITY else min(nproc, 4096)
    text = (
        f"{CONF_MARK}, because {'; '.join(reasons)}.\n"
        "# Remove it (or write your own) to give podman other settings.\n"
        "[containers]\n"
        f'default_ulimits = ["nofile={limit}:{limit}", "nproc={procs}:{procs}"]\n'
        "[engine]\n"
        'runtime = "runc"\n'
    )
    if CONF.exists() and CONF.read_text() == text:
        return
    if not is_root():
        raise StepFailed(
            "tools",
            f"podman needs {CONF} on this machine ({'; '.join(reasons)}); as root, write:\n{text}",
        )
    CONF.parent.mkdir(parents=True, exist_ok=True)
    CONF.write_text(text)
    say(f"==> wrote {CONF}: {'; '.join(reasons)}")


def enable_binfmt(arch: Arch) -> None:
    """Foreign binaries run through qemu: binfmt_misc mounted, the qemu entry enabled
    (flag F: the interpreter is opened now, so it works inside containers too)."""
    if arch.qemu is None:
        raise StepFailed(
            "tools", f"building {arch.name} images on {HOST_ARCH} is not supported here"
        )
    misc = Path("/proc/sys/fs/binfmt_misc")
    entry = misc / arch.qemu
    if entry.exists() and entry.read_text().startswith("enabled"):
        return
    if not is_root():
        raise StepFailed(
            "tools",
            f"{arch.name} images need qemu through binfmt_misc; as root: mount -t binfmt_misc "
            f"binfmt_misc {misc} && update-binfmts --enable {arch.qemu}",
        )
    with Step(f"tools: binfmt {arch.qemu}"):
        if not (misc / "register").exists():
            run(
                ["mount", "-t", "binfmt_misc", "binfmt_misc", str(misc)],
                f"tools: binfmt {arch.qemu}",
            )
        run(["update-binfmts", "--enable", arch.qemu], f"tools: binfmt {arch.qemu}")
    text = entry.read_text() if entry.exists() else ""
    if (
        not text.startswith("enabled")
        or "F" not in re.sub(r"(?s).*flags: ", "", text).split("\n")[0]
    ):
        raise StepFailed("tools", f"{entry} is not enabled with flag F:\n{text}")


# -- 2. the base -----------------------------------------------------------------------------
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


# -- 3. dependencies -------------------------------------------------------------------------
def platform_tag(arch: str, probe: dict[str, Any]) -> str:
    """uv's name of the base's platform: manylinux of the base's own glibc (2.36 on bookworm)."""
    major, minor = probe["libc"][1].split(".")[:2]
    return f"{ARCHES[arch].machine}-manylinux_{major}_{minor}"


def ensure_deps(uv: str, variant: str, arch: str, probe: dict[str, Any]) -> Path:
    """``envs/<variant>/uv.lock`` installed for the base's python and platform into a
    directory laid out as the image's root (usr/local/...): the `deps` build context."""
    what = f"{variant} {arch}: install dependencies"
    lock = REPO / "envs" / variant / "uv.lock"
    project = REPO / "envs" / variant / "pyproject.toml"
    minor = ".".join(probe["version"].split(".")[:2])
    tag = platform_tag(arch, probe)
    key = hashlib.sha256(
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
                str(project.parent),
                "--quiet",
                "-o",
                str(requirements),
            ],
            what,
            env=env,
        )
        staging = root.with_name(root.name + ".new")
        shutil.rmtree(staging, ignore_errors=True)
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
        shutil.rmtree(root, ignore_errors=True)
        staging.rename(root)
        stamp.write_text(key + "\n")
    return root


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


def build_args(arch: str) -> list[str]:
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


def ensure_deps_layer(variant: str, arch: str, deps: Path) -> None:
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
            return  # this very layer was checked before
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


# -- 4. images and 5. smoke checks -------------------------------------------------------------
def build_image(image: Image, arch: str, deps: Path | None) -> None:
    what = f"{image.short} {arch}: build"
    cmd = [*build_args(arch)]
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


def smoke(image: Image, arch: str) -> dict[str, Any]:
    what = f"{image.short} {arch}: smoke"
    emulated = arch != HOST_ARCH
    with Step(
        what, "(under qemu: readiness only, timings say nothing of a Pi)" if emulated else ""
    ):
        result = (
            smoke_worker(image, arch, what)
            if image.variant is None
            else smoke_function(image, arch, what)
        )
    result["emulated"] = emulated
    return result


def smoke_worker(image: Image, arch: str, what: str) -> dict[str, Any]:
    started = time.monotonic()
    done = podman(
        "run",
        "--rm",
        "--network=none",
        f"--arch={arch}",
        image.per_arch(arch),
        "check",
        "/workspace/sample-repo",
        what=what,
        timeout=600,
    )
    seconds = time.monotonic() - started
    try:
        report = json.loads(done.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError) as problem:
        raise StepFailed(what, f"no JSON from the worker: {done.stdout[-500:]!r}") from problem
    if not report.get("files"):
        raise StepFailed(what, f"the worker found no files: {report}")
    return {"run_s": round(seconds, 3), "files": report["files"]}


def smoke_function(image: Image, arch: str, what: str) -> dict[str, Any]:
    """Started as a platform would: default network, the container's 8080 published on a
    loopback port the kernel picks (no pick-then-bind race), read back with `podman port`."""
    deadline_s = 900 if arch != HOST_ARCH else 120
    started = time.monotonic()
    cid = podman(
        "run", "-d", f"--arch={arch}", "-p", "127.0.0.1::8080", image.per_arch(arch), what=what
    ).stdout.strip()
    returned = time.monotonic() - started
    try:
        where = podman("port", cid, "8080/tcp", what=what).stdout.strip().splitlines()[0]
        url = f"http://{where}/health/readiness"
        ready = None
        polls = 0
        while time.monotonic() - started < deadline_s:
            polls += 1
            try:
                with urllib.request.urlopen(url, timeout=2) as answer:
                    if answer.status == 200:
                        ready = time.monotonic() - started
                        break
            except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
                pass
            if polls % 20 == 0 and not running(cid):
                break
            time.sleep(0.05)
        if ready is None:
            logs = subprocess.run(
                ["podman", "logs", "--tail", "30", cid], capture_output=True, text=True
            )
            state = "exited" if not running(cid) else f"no 200 within {deadline_s} s"
            raise StepFailed(what, f"{url}: {state}\n{logs.stdout}{logs.stderr}")
        memory = container_memory(cid)
        stop_started = time.monotonic()
        podman("stop", "-t", "30", cid, what=what, timeout=60)
        stopped = time.monotonic() - stop_started
        state = json.loads(podman("inspect", cid, what=what).stdout)[0]["State"]
        if state.get("ExitCode") != 0:
            logs = subprocess.run(
                ["podman", "logs", "--tail", "30", cid], capture_output=True, text=True
            )
            raise StepFailed(
                what, f"exit {state.get('ExitCode')} after SIGTERM\n{logs.stdout}{logs.stderr}"
            )
    finally:
        subprocess.run(["podman", "rm", "-f", "-t", "0", cid], capture_output=True)
    return {
        "run_returned_s": round(returned, 3),
        "ready_s": round(ready, 3),
        "stop_s": round(stopped, 3),
        "memory_bytes": memory,
        "exit_code": 0,
    }


def running(cid: str) -> bool:
    done = subprocess.run(
        ["podman", "inspect", "-f", "{{.State.Running}}", cid], capture_output=True, text=True
    )
    return done.stdout.strip() == "true"


def container_memory(cid: str) -> int | None:
    """The container's memory cgroup usage (cgroup v1 or v2), once it is ready."""
    done = subprocess.run(
        ["podman", "stats", "--no-stream", "--no-reset", "--format", "json", cid],
        capture_output=True,
        text=True,
    )
    try:
        stats = json.loads(done.stdout)
        raw = stats[0].get("mem_usage") or stats[0].get("MemUsage")
    except (ValueError, IndexError, AttributeError):
        return None
    return parse_size(raw.split("/")[0]) if isinstance(raw, str) else raw


def parse_size(text: str) -> int | None:
    match = re.fullmatch(r"\s*([\d.]+)\s*([kKMGT]?i?B|B)?\s*", text)
    if not match:
        return None
    unit = (match.group(2) or "B").lower()
    scale = {
        "b": 1,
        "kb": 1e3,
        "mb": 1e6,
        "gb": 1e9,
        "tb": 1e12,
        "kib": 2**10,
        "mib": 2**20,
        "gib": 2**30,
    }
    return int(float(match.group(1)) * scale.get(unit, 1))


# -- 6. manifest lists -------------------------------------------------------------------------
def make_manifest(image: Image, arches: list[str], push: bool) -> None:
    what = f"{image.short}: manifest"
    with Step(what, f"{image.name} = {' + '.join(arches)}"):
        subprocess.run(["podman", "manifest", "rm", image.name], capture_output=True)
        if exists(image.name):  # an image (not a list) of that name
            subprocess.run(["podman", "rmi", image.name], capture_output=True)
        podman("manifest", "create", image.name, what=what)
        for arch in arches:
            podman(
                "manifest",
                "add",
                image.name,
                f"containers-storage:{image.per_arch(arch)}",
                what=what,
            )
        if push:
            podman("manifest", "push", "--all", image.name, f"docker://{image.name}", what=what)


# -- the two commands --------------------------------------------------------------------------
def selected(args: argparse.Namespace) -> tuple[list[Image], list[str]]:
    images = all_images(args.registry, args.tag)
    if args.only:
        wanted = set(args.only.replace(",", " ").split())
        unknown = wanted - {i.short for i in images}
        if unknown:
            raise StepFailed(
                "arguments", f"no image named {sorted(unknown)}; known: {[i.short for i in images]}"
            )
        images = [i for i in images if i.short in wanted]
    arches = []
    for platform in args.platforms.replace(",", " ").split():
        arch = platform.removeprefix("linux/")
        if arch not in ARCHES:
            raise StepFailed("arguments", f"platform {platform}: linux/amd64 or linux/arm64")
        arches.append(arch)
    arches.sort(key=lambda a: a != HOST_ARCH)  # the native architecture first
    return images, arches


def update_json(path: Path, data: dict[str, Any]) -> None:
    """Merge ``data`` (image → arch → ...) into the JSON file at ``path``."""
    try:
        old = json.loads(path.read_text())
    except (OSError, ValueError):
        old = {}
    for key, value in data.items():
        old.setdefault(key, {}).update(value)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(old, indent=2, sort_keys=True) + "\n")


def cmd_images(args: argparse.Namespace) -> None:
    images, arches = selected(args)
    started = time.monotonic()
    say(
        f"==> {len(images)} images x {' + '.join(arches)} "
        f"(envs/Containerfile; logs in {LOGS.relative_to(REPO)})"
    )
    ensure_tools(arches)
    smoked: dict[str, dict[str, Any]] = {}
    for arch in arches:
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
    say("==> manifest lists")
    for image in images:
        make_manifest(image, arches, args.push)
    write_timings(time.monotonic() - started)
    if smoked:
        say("==> smoke: seconds from `podman run` to the first 200 of /health/readiness")
        for name, per_arch in smoked.items():
            cells = []
            for arch, result in per_arch.items():
                if "ready_s" in result:
                    memory = result.get("memory_bytes")
                    mib = f", {memory / 2**20:.0f} MiB" if memory else ""
                    cells.append(f"{arch} {result['ready_s']:.2f} s{mib}")
                else:
                    cells.append(f"{arch} ran in {result['run_s']:.2f} s")
            say(f"    {name:<52} {';  '.join(cells)}")
    say(
        f"==> done in {time.monotonic() - started:.0f} s: "
        f"{len(images)} images, {' + '.join(arches)}"
    )


def write_timings(total: float) -> None:
    CACHE.mkdir(parents=True, exist_ok=True)
    TIMINGS["total"] = round(total, 1)
    (CACHE / "timings.json").write_text(json.dumps(TIMINGS, indent=2) + "\n")


# -- sizes -------------------------------------------------------------------------------------
def oci_layout_push(
    image: str, layout: Path, ref: str, compression: str, what: str
) -> dict[str, Any]:
    """Push ``image`` into the OCI layout ``layout`` as ``ref``, with ``compression``; its
    manifest. Layers already in the layout are reused, not compressed again."""
    podman(
        "push",
        "--remove-signatures",
        f"--compression-format={compression}",
        image,
        f"oci:{layout}:{ref}",
        what=what,
        timeout=1800,
    )
    index = json.loads((layout / "index.json").read_text())
    for entry in index.get("manifests", []):
        if entry.get("annotations", {}).get("org.opencontainers.image.ref.name") == ref:
            manifest = json.loads(blob(layout, entry["digest"]).read_text())
            manifest["_size"] = entry["size"]
            return manifest
    raise StepFailed(what, f"{ref} is not in {layout}/index.json")


def blob(layout: Path, digest: str) -> Path:
    algorithm, _, hexdigest = digest.partition(":")
    return layout / "blobs" / algorithm / hexdigest


def prune_layout(layout: Path) -> None:
    """Remove the blobs no manifest of the layout refers to (images rebuilt since)."""
    keep = set()
    index = json.loads((layout / "index.json").read_text())
    for entry in index.get("manifests", []):
        keep.add(entry["digest"])
        manifest = json.loads(blob(layout, entry["digest"]).read_text())
        keep.add(manifest["config"]["digest"])
        keep.update(layer["digest"] for layer in manifest["layers"])
    for path in (layout / "blobs").glob("*/*"):
        if f"{path.parent.name}:{path.name}" not in keep:
            path.unlink()


def uncompressed_size(
    layout: Path, layer: dict[str, Any], known: dict[str, int], diff_id: str
) -> int:
    if diff_id not in known:
        if not layer["mediaType"].endswith("+gzip"):
            raise StepFailed("sizes", f"{layer['digest']} is {layer['mediaType']}, not gzip")
        total = 0
        with gzip.open(blob(layout, layer["digest"]), "rb") as stream:
            while chunk := stream.read(1 << 20):
                total += len(chunk)
        known[diff_id] = total
    return known[diff_id]


def cmd_sizes(args: argparse.Namespace) -> None:
    images, arches = selected(args)
    layouts = {c: CACHE / f"oci-{c}" for c in ("gzip", "zstd")}
    known_path = CACHE / "layer-sizes.json"
    try:
        known = json.loads(known_path.read_text())
    except (OSError, ValueError):
        known = {}
    try:  # an image measured before and not rebuilt since (same image id) is not pushed again
        previous = json.loads((CACHE / "sizes.json").read_text())
    except (OSError, ValueError):
        previous = {}
    sizes: dict[str, dict[str, Any]] = {}
    missing = [f"{i.per_arch(a)}" for i in images for a in arches if not exists(i.per_arch(a))]
    if missing:
        raise StepFailed("sizes", "not built (make images): " + ", ".join(missing))
    say(
        f"==> sizes of {len(images)} images x {' + '.join(arches)} "
        f"(OCI layouts in {CACHE.relative_to(REPO)}/oci-*)"
    )
    for arch in arches:
        base_layers = inspect(base_name(arch))["RootFS"]["Layers"]
        for image in images:
            ref = f"{image.short}-{arch}"
            what = f"{image.short} {arch}: sizes"
            config = inspect(image.per_arch(arch))
            before = previous.get(image.name, {}).get(arch, {})
            if before.get("id") == config["Id"]:
                say(
                    f"    {what + ': cached':<48}           "
                    f"(image {config['Id'][:12]} measured before)"
                )
                sizes.setdefault(image.name, {})[arch] = before
                continue
            with Step(what):
                diff_ids = config["RootFS"]["Layers"]
                deps_layers = (
                    inspect(deps_name(image.variant, arch))["RootFS"]["Layers"]
                    if image.variant
                    else base_layers
                )
                if (
                    diff_ids[: len(base_layers)] != base_layers
                    or diff_ids[: len(deps_layers)] != deps_layers
                ):
                    raise StepFailed(
                        what,
                        "its layers do not start with the base's and the dependencies' (rebuild)",
                    )
                parts = (
                    ["base"] * len(base_layers)
                    + ["dependencies"] * (len(deps_layers) - len(base_layers))
                    + ["code"] * (len(diff_ids) - len(deps_layers))
                )
                entry: dict[str, Any] = {"layers": {}, "layers_gzip": {}, "layers_zstd": {}}
                for compression, layout in layouts.items():
                    layout.mkdir(parents=True, exist_ok=True)
                    manifest = oci_layout_push(image.per_arch(arch), layout, ref, compression, what)
                    if len(manifest["layers"]) != len(diff_ids):
                        raise StepFailed(
                            what, f"{len(manifest['layers'])} layers pushed, {len(diff_ids)} built"
                        )
                    per_part = dict.fromkeys(("base", "dependencies", "code"), 0)
                    for part, layer in zip(parts, manifest["layers"], strict=True):
                        per_part[part] += layer["size"]
                    entry[f"layers_{compression}"] = per_part
                    # what a registry would send: the layers, the config and the manifest
                    entry[compression] = (
                        sum(per_part.values()) + manifest["config"]["size"] + manifest["_size"]
                    )
                    if compression == "gzip":
                        raw = dict.fromkeys(("base", "dependencies", "code"), 0)
                        for part, layer, diff_id in zip(
                            parts, manifest["layers"], diff_ids, strict=True
                        ):
                            raw[part] += uncompressed_size(layout, layer, known, diff_id)
                        entry["layers"] = raw
                        entry["uncompressed"] = sum(raw.values())
                entry["id"] = config["Id"]
                entry["podman_size"] = config.get("Size")
                entry["digest"] = config.get("Digest")
                sizes.setdefault(image.name, {})[arch] = entry
    for layout in layouts.values():
        prune_layout(layout)
    known_path.write_text(json.dumps(known, indent=1) + "\n")
    update_json(CACHE / "sizes.json", sizes)
    print_sizes(sizes)
    say(f"==> {(CACHE / 'sizes.json').relative_to(REPO)}")


def print_sizes(sizes: dict[str, dict[str, Any]]) -> None:
    def mib(n: int) -> str:
        return f"{n / 2**20:7.1f}"

    say("    MiB: uncompressed (base + dependencies + code), compressed layers gzip / zstd")
    say(
        f"    {'image':<50} {'arch':<6} {'total':>7} {'base':>7} {'deps':>7} {'code':>7} "
        f"{'gzip':>7} {'zstd':>7}"
    )
    for name, per_arch in sizes.items():
        for arch, e in per_arch.items():
            layers = e["layers"]
            say(
                f"    {name:<50} {arch:<6} {mib(e['uncompressed'])} {mib(layers['base'])} "
                f"{mib(layers['dependencies'])} {mib(layers['code'])} "
                f"{mib(e['gzip'])} {mib(e['zstd'])}"
            )


def main(argv: list[str]) -> int:
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
            cmd_sizes(args)
        else:
            ensure_tools(selected(args)[1])
    except StepFailed as failure:
        say(f"!!! {failure.what} failed: {failure.detail}")
        return 1
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

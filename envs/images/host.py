"""The building machine (step 1, "tools"): the architectures it builds for, the tools it
needs (installed with apt-get as root on Debian, otherwise named), podman's settings for
this kind of machine, and qemu through binfmt_misc for a foreign architecture."""

from __future__ import annotations

import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from envs.images.steps import Step, StepFailed, run, say


@dataclass(frozen=True)
class Arch:
    """An architecture the images are built for."""

    name: str  # Debian and OCI: amd64, arm64
    machine: str  # uname -m, manylinux: x86_64, aarch64
    qemu: str | None  # the binfmt entry it needs on an amd64 host


ARCHES = {
    "amd64": Arch("amd64", "x86_64", None),
    "arm64": Arch("arm64", "aarch64", "qemu-aarch64"),
}
HOST_ARCH = {"x86_64": "amd64", "aarch64": "arm64"}.get(os.uname().machine, os.uname().machine)

PACKAGES = {  # command → Debian package
    "podman": "podman",
    "buildah": "buildah",
    "runc": "runc",
    "mmdebstrap": "mmdebstrap",
}
FOREIGN_PACKAGES = {"qemu-aarch64-static": "qemu-user-static", "update-binfmts": "binfmt-support"}
CONF = Path("/etc/containers/containers.conf")
# Kept as it is: the files written before carry it, and only a file with it is ours to rewrite.
CONF_MARK = "# Written by Binks Functions' `make images` (envs/images/build.py)"
PODMAN_NOFILE = 1048576  # what podman asks for, as root, when nothing says otherwise


def is_root() -> bool:
    """Whether this process may install packages and write /etc (effective uid 0)."""
    return os.geteuid() == 0


def ensure_tools(arches: list[str]) -> None:
    """Everything the build of ``arches`` needs on this machine, or StepFailed naming it."""
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

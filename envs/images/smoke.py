"""The smoke checks (step 5): each function image started as a platform would start it until
``/health/readiness`` answers 200, then stopped with SIGTERM (it must exit 0); the worker
image run on the sample repository (it must print its JSON and exit 0)."""

from __future__ import annotations

import json
import re
import subprocess
import time
import urllib.error
import urllib.request
from typing import Any

from envs.images.host import HOST_ARCH
from envs.images.images import Image
from envs.images.steps import Step, StepFailed, podman, say


def smoke(image: Image, arch: str) -> dict[str, Any]:
    """Smoke-check ``image`` on ``arch``; what it measured (``emulated`` under qemu)."""
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
    """The worker checks the sample repository, offline; it must report files."""
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
        ready = wait_ready(url, cid, started, deadline_s)
        if ready is None:
            logs = container_logs(cid)
            state = "exited" if not running(cid) else f"no 200 within {deadline_s} s"
            raise StepFailed(what, f"{url}: {state}\n{logs}")
        memory = container_memory(cid)
        stopped = stop_cleanly(cid, what)
    finally:
        subprocess.run(["podman", "rm", "-f", "-t", "0", cid], capture_output=True)
    return {
        "run_returned_s": round(returned, 3),
        "ready_s": round(ready, 3),
        "stop_s": round(stopped, 3),
        "memory_bytes": memory,
        "exit_code": 0,
    }


def wait_ready(url: str, cid: str, started: float, deadline_s: float) -> float | None:
    """Seconds from ``started`` to the first 200 of ``url``; None when the container exits
    or ``deadline_s`` passes first."""
    polls = 0
    while time.monotonic() - started < deadline_s:
        polls += 1
        try:
            with urllib.request.urlopen(url, timeout=2) as answer:
                if answer.status == 200:
                    return time.monotonic() - started
        except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
            pass
        if polls % 20 == 0 and not running(cid):
            break
        time.sleep(0.05)
    return None


def stop_cleanly(cid: str, what: str) -> float:
    """Stop the container with SIGTERM; the seconds it took. StepFailed unless it exits 0."""
    stop_started = time.monotonic()
    podman("stop", "-t", "30", cid, what=what, timeout=60)
    stopped = time.monotonic() - stop_started
    state = json.loads(podman("inspect", cid, what=what).stdout)[0]["State"]
    if state.get("ExitCode") != 0:
        logs = container_logs(cid)
        raise StepFailed(what, f"exit {state.get('ExitCode')} after SIGTERM\n{logs}")
    return stopped


def container_logs(cid: str) -> str:
    """The last 30 lines the container wrote (stdout, then stderr)."""
    logs = subprocess.run(["podman", "logs", "--tail", "30", cid], capture_output=True, text=True)
    return f"{logs.stdout}{logs.stderr}"


def running(cid: str) -> bool:
    """Whether the container is still running."""
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
    """Bytes of a size as podman prints it (``148.2MB``, ``1.5GiB``); None if it is not one."""
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


def print_smoke(smoked: dict[str, dict[str, Any]]) -> None:
    """The smoke results of this run: per image and architecture, readiness and memory."""
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

"""Kubernetes Jobs, locally: one-shot processes standing in for a Job's pod.

The cluster operator creates Jobs through the platform's API the way it does through
the Kubernetes API on a cluster. An image maps to local code by its exact repository
name (``ghcr.io/binks-functions/worker``, any tag or digest, runs ``python -m
functions.worker``); the Job's bounds hold here too: ``activeDeadlineSeconds`` kills
the process, ``backoffLimit`` limits the retries, ``ttlSecondsAfterFinished`` forgets
the Job.

A Job's process runs as the platform's user, so what the manifest may say is narrow:
its environment is built from scratch (a fixed PATH and LANG, the platform's
PYTHONPATH, BINKS_REPO_BASE and BINKS_STATE_DIR) plus only the variables its image
declares it reads; any other name, and every name that steers an interpreter, the
dynamic loader, libc or a shell, is refused (422) before anything of the Job exists.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import secrets
import sys
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from localknative import containers
from shared.image_ref import ImageRef

REPO = Path(__file__).resolve().parents[1]
MAX_LOG_BYTES = 1_000_000
D = TypeVar("D", int, None)


@dataclass(frozen=True)
class LocalImage:
    """A local stand-in: the interpreter's arguments, and the env names it reads (the
    only ones a Job of this image may set)."""

    args: tuple[str, ...]
    env: frozenset[str] = frozenset()


#: Image repositories with a local stand-in, written exactly as the manifests and
#: ``BINKS_JOB_IMAGES`` write them; any tag or digest maps to the same local code.
#: The worker reads no variable from its Job: its settings, BINKS_REPO_BASE (what it
#: may read) and BINKS_STATE_DIR (what it skips), are the platform's.
LOCAL_IMAGES: dict[str, LocalImage] = {
    "ghcr.io/binks-functions/worker": LocalImage(("-m", "functions.worker")),
}

#: Every Job's PATH: the system's directories only (the interpreter itself is started
#: by its absolute path), never the platform's PATH nor one a Job gives.
JOB_PATH = "/usr/local/bin:/usr/bin:/bin"
#: What the platform passes on from its own environment (``Jobs(log_dir, env)``).
PLATFORM_NAMES = ("BINKS_REPO_BASE", "BINKS_STATE_DIR")

#: Names no Job may set, whatever its image declares, by why (matched ignoring case:
#: ``http_proxy`` is read as much as ``HTTP_PROXY``).
REFUSED_ENV: dict[str, re.Pattern[str]] = {
    "it steers an interpreter, the dynamic loader, libc or a shell": re.compile(
        r"PYTHON.*|LD_.*|DYLD_.*|GCONV_PATH|LOCPATH|NLSPATH|MALLOC_.*|GLIBC_TUNABLES"
        r"|HOSTALIASES|LOCALDOMAIN|RES_OPTIONS|TMPDIR|TZ|TZDIR|LANG|LANGUAGE|LC_.*"
        r"|PATH|HOME|SHELL|BASH_ENV|ENV|SHELLOPTS|BASHOPTS|BASH_FUNC_.*|IFS|PS4"
        r"|PROMPT_COMMAND|CDPATH|GLOBIGNORE|PERL5.*|PERLLIB|PERLIO.*|RUBY.*|GEM_.*"
        r"|NODE_.*|JAVA_TOOL_OPTIONS|_JAVA_OPTIONS|JDK_JAVA_OPTIONS|CLASSPATH"
        r"|BROWSER|EDITOR|VISUAL|PAGER|GIT_.*|TERMINFO.*",
        re.IGNORECASE,
    ),
    "it redirects network or TLS": re.compile(
        r".*_PROXY|SSL_CERT_.*|REQUESTS_CA_BUNDLE|CURL_CA_BUNDLE|OPENSSL_.*", re.IGNORECASE
    ),
    "the platform sets it": re.compile(
        r"BINKS_REPO_BASE|BINKS_STATE_DIR|K_.*|KUBERNETES_.*|KUBECONFIG", re.IGNORECASE
    ),
}

MAX_ENV = 32
MAX_ENV_VALUE_BYTES = 4096
MAX_ENV_BYTES = 32 * 1024  # names and values together
MAX_ARGS = 64
MAX_ARG_BYTES = 4096
MAX_ARGS_BYTES = 32 * 1024

_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,127}")
_DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")


class JobError(ValueError):
    """A Job the platform cannot create; ``status`` is the HTTP answer."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def _shown(text: object) -> str:
    """A value for an error message, cut short (the caller may have sent megabytes)."""
    shown = repr(text)
    return shown if len(shown) <= 80 else shown[:77] + "..."


def local_image(image: str) -> LocalImage:
    """The stand-in of an image whose repository is exactly a local one, or JobError 422
    (Kubernetes: ErrImagePull). Tags and digests are accepted as written."""
    ref = ImageRef.parse(image)
    if ref is None or ref.repository not in LOCAL_IMAGES:
        known = ", ".join(sorted(LOCAL_IMAGES))
        raise JobError(422, f"image {_shown(image)} has no local stand-in (local images: {known})")
    return LOCAL_IMAGES[ref.repository]


def command_for_image(image: str) -> list[str]:
    """The local command of a container image, or JobError (Kubernetes: ErrImagePull)."""
    return [sys.executable, *local_image(image).args]


def _utf8_size(text: str, what: str) -> int:
    """Bytes of ``text`` as the process will get it; NUL and lone surrogates cannot be
    passed to exec, so they are refused here rather than failing the Job later."""
    if "\0" in text:
        raise JobError(422, f"{what} contains a NUL character")
    try:
        return len(text.encode("utf-8"))
    except UnicodeEncodeError:
        raise JobError(422, f"{what} is not valid Unicode text") from None


def parse_env(items: Any) -> tuple[tuple[str, str], ...]:
    """A container's ``env`` as (name, value) pairs: plain string values only, valid and
    distinct names, within the byte budget. JobError 400 (malformed) or 422 names it."""
    if items is None:
        return ()
    if not isinstance(items, list):
        raise JobError(400, "env must be a list of {name, value} objects")
    if len(items) > MAX_ENV:
        raise JobError(422, f"env has {len(items)} variables; at most {MAX_ENV}")
    pairs: dict[str, str] = {}
    total = 0
    for item in items:
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            raise JobError(400, "each env entry needs a string name")
        name, value = item["name"], item.get("value")
        if not _ENV_NAME.fullmatch(name):
            raise JobError(422, f"env name {_shown(name)} is not [A-Za-z_][A-Za-z0-9_]* (128)")
        if "valueFrom" in item:
            raise JobError(422, f"env {name}: valueFrom is not supported locally; give a value")
        value = "" if value is None else value
        if not isinstance(value, str):
            raise JobError(400, f"env {name}: value must be a string, not {type(value).__name__}")
        if name in pairs:
            raise JobError(422, f"env {name} is given twice")
        size = _utf8_size(value, f"env {name}")
        if size > MAX_ENV_VALUE_BYTES:
            raise JobError(422, f"env {name} is {size} bytes; at most {MAX_ENV_VALUE_BYTES}")
        total += len(name) + size
        pairs[name] = value
    if total > MAX_ENV_BYTES:
        raise JobError(422, f"env is {total} bytes in all; at most {MAX_ENV_BYTES}")
    return tuple(pairs.items())


def parse_args(items: Any) -> tuple[str, ...]:
    """A container's ``args`` (argv, no shell): strings, bounded in count and bytes."""
    if items is None:
        return ()
    if not isinstance(items, list) or not all(isinstance(a, str) for a in items):
        raise JobError(400, "args must be a list of strings")
    if len(items) > MAX_ARGS:
        raise JobError(422, f"args has {len(items)} items; at most {MAX_ARGS}")
    sizes = [_utf8_size(arg, f"args[{i}]") for i, arg in enumerate(items)]
    if max(sizes, default=0) > MAX_ARG_BYTES:
        raise JobError(422, f"an argument is {max(sizes)} bytes; at most {MAX_ARG_BYTES}")
    if sum(sizes) > MAX_ARGS_BYTES:
        raise JobError(422, f"args are {sum(sizes)} bytes in all; at most {MAX_ARGS_BYTES}")
    return tuple(items)


def check_env_names(names: Iterable[str], image: str, allowed: frozenset[str]) -> None:
    """JobError 422 naming every variable a Job of ``image`` may not set: the refused
    names (always), then any the image does not declare it reads."""
    problems, rest = [], []
    for name in names:
        reason = next((why for why, p in REFUSED_ENV.items() if p.fullmatch(name)), None)
        if reason is not None:
            problems.append(f"{name} ({reason})")
        elif name not in allowed:
            rest.append(name)
    if rest:
        declared = ", ".join(sorted(allowed)) or "none"
        problems.append(f"{', '.join(rest)} (image {image} reads only: {declared})")
    if problems:
        raise JobError(422, "env refused: " + "; ".join(problems))


def _whole(spec: Mapping[str, Any], key: str, default: D, least: int = 0) -> int | D:
    """An integer field of the Job's spec (as the API server types them), or ``default``."""
    value = spec.get(key)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int):
        raise JobError(400, f"spec.{key} must be an integer")
    if not least <= value <= 2**31 - 1:
        raise JobError(422, f"spec.{key} must be from {least} to {2**31 - 1}")
    return value


@dataclass(frozen=True)
class JobSpec:
    """What the platform takes from a ``batch/v1`` Job manifest."""

    namespace: str
    name: str
    image: str
    args: tuple[str, ...]
    env: tuple[tuple[str, str], ...]
    deadline_s: float | None
    backoff_limit: int
    ttl_s: float | None

    @classmethod
    def parse(cls, namespace: str, manifest: Any) -> JobSpec:
        """Read the fields a local run honours; JobError 400 (malformed) or 422 names
        what is wrong."""
        try:
            if manifest.get("kind") != "Job" or manifest.get("apiVersion") != "batch/v1":
                raise JobError(400, "expected apiVersion batch/v1, kind Job")
            spec = manifest["spec"]
            pod = spec["template"]["spec"]
            (container,) = pod["containers"]
            name = manifest["metadata"]["name"]
            if not isinstance(container, dict):
                raise TypeError
        except JobError:
            raise
        except (KeyError, TypeError, ValueError, AttributeError):
            raise JobError(400, "a Job needs metadata.name and exactly one container") from None
        for what, value in (("namespace", namespace), ("metadata.name", name)):
            if not isinstance(value, str) or not _DNS_LABEL.fullmatch(value):
                raise JobError(422, f"{what} {_shown(value)} is not a DNS-1123 label")
        for unsupported in ("command", "envFrom"):  # silently ignoring them would lie
            if container.get(unsupported) is not None:
                raise JobError(422, f"container.{unsupported} is not supported locally")
        return cls(
            namespace=namespace,
            name=name,
            image=str(container.get("image", "")),
            args=parse_args(container.get("args")),
            env=parse_env(container.get("env")),
            deadline_s=_whole(spec, "activeDeadlineSeconds", None, least=1),
            backoff_limit=_whole(spec, "backoffLimit", 6),
            ttl_s=_whole(spec, "ttlSecondsAfterFinished", None),
        )


@dataclass
class LocalJob:
    spec: JobSpec
    log: Path
    active: int = 0
    succeeded: int = 0
    failed: int = 0
    conditions: list[dict[str, str]] = field(default_factory=list)
    started: float = field(default_factory=time.time)
    finished: float | None = None

    def status(self) -> dict[str, Any]:
        return {
            "name": self.spec.name,
            "namespace": self.spec.namespace,
            "active": self.active,
            "succeeded": self.succeeded,
            "failed": self.failed,
            "conditions": list(self.conditions),
        }


class Jobs:
    """The Jobs of a platform run; each runs as an asyncio task in the platform's loop.

    ``env`` is the platform's environment; only ``PLATFORM_NAMES`` of it reach a Job."""

    def __init__(
        self, log_dir: Path, env: Mapping[str, str], runtime: str = "process", owner: str = ""
    ) -> None:
        self.log_dir = log_dir
        self.env = dict(env)
        #: ``container``: each attempt is the Job's image under podman, labelled ``owner``
        self.runtime = runtime
        self.owner = owner
        self.jobs: dict[tuple[str, str], LocalJob] = {}
        self._tasks: set[asyncio.Task] = set()

    def create(self, namespace: str, manifest: Any) -> dict[str, Any]:
        """Start a Job; JobError 409 if one of that name exists (as the API server says).
        Every check runs first: a refused Job leaves no log, no entry and no process."""
        spec = JobSpec.parse(namespace, manifest)
        image = local_image(spec.image)
        check_env_names((name for name, _ in spec.env), spec.image, image.env)
        if (namespace, spec.name) in self.jobs:
            raise JobError(409, f"jobs.batch {spec.name!r} already exists")
        self.log_dir.mkdir(parents=True, exist_ok=True)
        # "_" is in no DNS label: namespace a-b, Job c and namespace a, Job b-c differ
        job = LocalJob(spec, self.log_dir / f"job-{namespace}_{spec.name}.log")
        self.jobs[(namespace, spec.name)] = job
        task = asyncio.get_running_loop().create_task(self._run(job, image))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return {"name": spec.name, "namespace": namespace, "created": True}

    def environment(self, spec: JobSpec) -> dict[str, str]:
        """The process's whole environment: nothing of the platform's own but
        ``PLATFORM_NAMES``; the fixed and platform names come last, so they win."""
        platform = {name: self.env[name] for name in PLATFORM_NAMES if name in self.env}
        # PYTHONPATH: this checkout, so ``-m functions.worker`` imports from anywhere
        fixed = {"PATH": JOB_PATH, "LANG": "C.UTF-8", "PYTHONPATH": str(REPO)}
        return {**dict(spec.env), **fixed, **platform}

    def get(self, namespace: str, name: str) -> LocalJob:
        try:
            return self.jobs[(namespace, name)]
        except KeyError:
            raise JobError(404, f"jobs.batch {name!r} not found") from None

    def logs(self, namespace: str, name: str, lines: int) -> str:
        job = self.get(namespace, name)
        if not job.log.exists():
            return ""
        text = job.log.read_bytes()[-MAX_LOG_BYTES:].decode("utf-8", "replace")
        return "\n".join(text.splitlines()[-lines:]) + ("\n" if text else "")

    def attempt_command(
        self, spec: JobSpec, image: LocalImage
    ) -> tuple[list[str], dict[str, str], str | None]:
        """One attempt's command line and environment, and its container's name (None for
        a process). A container gets the Job's image as the Job names it, the workspace
        read-only and its environment by name only (``containers.job_command``)."""
        env = self.environment(spec)
        if self.runtime != "container":
            return [sys.executable, *image.args, *spec.args], env, None
        name = f"binks-job-{spec.namespace}-{spec.name}-{secrets.token_hex(4)}"
        command, podman_env = containers.job_command(spec.image, spec.args, env, name, self.owner)
        return command, podman_env, name

    async def _run(self, job: LocalJob, image: LocalImage) -> None:
        spec = job.spec
        deadline = time.monotonic() + spec.deadline_s if spec.deadline_s else None
        with job.log.open("wb") as log:  # a Job re-created after its TTL starts afresh
            while True:
                job.active = 1
                command, env, name = self.attempt_command(spec, image)
                try:
                    code = await self._attempt(command, env, log, deadline)
                finally:
                    if name is not None:  # a killed podman client leaves its container
                        await asyncio.to_thread(containers.remove, name)
                job.active = 0
                if code == 0:
                    job.succeeded = 1
                    job.conditions = [{"type": "Complete", "status": "True"}]
                    break
                job.failed += 1
                if code is None:  # killed at the deadline
                    reason = "DeadlineExceeded"
                elif job.failed > spec.backoff_limit:
                    reason = "BackoffLimitExceeded"
                else:
                    continue
                job.conditions = [{"type": "Failed", "status": "True", "reason": reason}]
                break
        job.finished = time.time()
        if spec.ttl_s is not None:
            await asyncio.sleep(spec.ttl_s)
            self.jobs.pop((spec.namespace, spec.name), None)

    @staticmethod
    async def _attempt(command: list[str], env: dict, log, deadline: float | None) -> int | None:
        """One pod's run: its exit code, or None when the deadline killed it."""
        # cwd: the checkout, wherever the platform started; ``-m`` puts the cwd first on
        # sys.path, so it must hold only our code (never the workspace a Job reads)
        process = await asyncio.create_subprocess_exec(
            *command, stdin=asyncio.subprocess.DEVNULL, stdout=log, stderr=log, env=env, cwd=REPO
        )
        left = None if deadline is None else max(0.0, deadline - time.monotonic())
        try:
            return await asyncio.wait_for(process.wait(), left)
        except TimeoutError:
            process.kill()
            await process.wait()
            return None
        except asyncio.CancelledError:
            process.kill()  # a stopping platform leaves no orphan behind
            raise

    async def stop(self) -> None:
        """Cancel running Jobs (their processes are killed with them)."""
        for task in list(self._tasks):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

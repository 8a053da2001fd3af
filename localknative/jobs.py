"""Kubernetes Jobs, locally: one-shot processes standing in for a Job's pod.

The cluster operator creates Jobs through the platform's API the way it does through
the Kubernetes API on a cluster. An image maps to local code by name (the worker image
runs ``python -m functions.worker``); the Job's bounds hold here too:
``activeDeadlineSeconds`` kills the process, ``backoffLimit`` limits the retries,
``ttlSecondsAfterFinished`` forgets the Job.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: Images (by name, without registry and tag) that have a local stand-in.
LOCAL_IMAGES = {"worker": ("-m", "functions.worker")}
MAX_LOG_BYTES = 1_000_000


class JobError(ValueError):
    """A Job the platform cannot create; ``status`` is the HTTP answer."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def command_for_image(image: str) -> list[str]:
    """The local command of a container image, or JobError (Kubernetes: ErrImagePull)."""
    name = image.rsplit("/", 1)[-1].split("@", 1)[0].split(":", 1)[0]
    if name not in LOCAL_IMAGES:
        known = ", ".join(sorted(LOCAL_IMAGES))
        raise JobError(422, f"image {image!r} has no local stand-in (local images: {known})")
    return [sys.executable, *LOCAL_IMAGES[name]]


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
        """Read the fields a local run honours; JobError(400) names what is wrong."""
        try:
            if manifest.get("kind") != "Job" or manifest.get("apiVersion") != "batch/v1":
                raise JobError(400, "expected apiVersion batch/v1, kind Job")
            spec = manifest["spec"]
            pod = spec["template"]["spec"]
            (container,) = pod["containers"]
            name = manifest["metadata"]["name"]
        except JobError:
            raise
        except (KeyError, TypeError, ValueError, AttributeError):
            raise JobError(400, "a Job needs metadata.name and exactly one container") from None
        env = tuple((e["name"], str(e.get("value", ""))) for e in container.get("env") or [])
        deadline = spec.get("activeDeadlineSeconds")
        ttl = spec.get("ttlSecondsAfterFinished")
        return cls(
            namespace=namespace,
            name=str(name),
            image=str(container.get("image", "")),
            args=tuple(str(a) for a in container.get("args") or []),
            env=env,
            deadline_s=float(deadline) if deadline is not None else None,
            backoff_limit=int(spec.get("backoffLimit", 6)),
            ttl_s=float(ttl) if ttl is not None else None,
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
    """The Jobs of a platform run; each runs as an asyncio task in the platform's loop."""

    def __init__(self, log_dir: Path, env: Mapping[str, str]) -> None:
        self.log_dir = log_dir
        self.env = dict(env)
        self.jobs: dict[tuple[str, str], LocalJob] = {}
        self._tasks: set[asyncio.Task] = set()

    def create(self, namespace: str, manifest: Any) -> dict[str, Any]:
        """Start a Job; JobError 409 if one of that name exists (as the API server says)."""
        spec = JobSpec.parse(namespace, manifest)
        command = [*command_for_image(spec.image), *spec.args]
        if (namespace, spec.name) in self.jobs:
            raise JobError(409, f"jobs.batch {spec.name!r} already exists")
        self.log_dir.mkdir(parents=True, exist_ok=True)
        job = LocalJob(spec, self.log_dir / f"job-{namespace}-{spec.name}.log")
        self.jobs[(namespace, spec.name)] = job
        task = asyncio.get_running_loop().create_task(self._run(job, command))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return {"name": spec.name, "namespace": namespace, "created": True}

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

    async def _run(self, job: LocalJob, command: list[str]) -> None:
        spec = job.spec
        deadline = time.monotonic() + spec.deadline_s if spec.deadline_s else None
        env = {"PATH": os.environ.get("PATH", ""), **self.env, **dict(spec.env)}
        with job.log.open("ab") as log:
            while True:
                job.active = 1
                code = await self._attempt(command, env, log, deadline)
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
        process = await asyncio.create_subprocess_exec(
            *command, stdin=asyncio.subprocess.DEVNULL, stdout=log, stderr=log, env=env
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

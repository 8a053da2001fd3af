"""Jobs on the local platform: one-shot processes that keep a Job's bounds."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from binks.processes import REPO
from localknative import jobs as local_jobs
from localknative.jobs import JobError, Jobs, command_for_image

pytestmark = pytest.mark.process


def manifest(name: str, image: str, args: list[str], **spec) -> dict:
    container = {"name": "worker", "image": image, "args": args}
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": name},
        "spec": {"template": {"spec": {"containers": [container]}}, **spec},
    }


async def finished(jobs: Jobs, name: str, timeout_s: float = 30) -> dict:
    async with asyncio.timeout(timeout_s):
        while True:
            status = jobs.get("default", name).status()
            if status["conditions"]:
                return status
            await asyncio.sleep(0.05)


def test_the_worker_image_runs_the_repository_check(tmp_path: Path) -> None:
    async def scenario() -> tuple[dict, str]:
        jobs = Jobs(tmp_path, {"BINKS_REPO_BASE": str(REPO)})
        image = "ghcr.io/binks-functions/worker:0.1.0"
        jobs.create("default", manifest("check", image, ["check", "bench/sample-repo"]))
        with pytest.raises(JobError) as again:
            jobs.create("default", manifest("check", image, []))
        assert again.value.status == 409
        status = await finished(jobs, "check")
        return status, jobs.logs("default", "check", 10)

    status, logs = asyncio.run(scenario())
    assert status["succeeded"] == 1 and status["conditions"][0]["type"] == "Complete"
    result = json.loads(logs)
    assert result["files"] >= 2 and result["syntax_errors"] == []


def test_the_deadline_kills_the_process_and_fails_the_job(tmp_path, monkeypatch) -> None:
    monkeypatch.setitem(local_jobs.LOCAL_IMAGES, "sleeper", ("-c", "import time; time.sleep(60)"))

    async def scenario() -> dict:
        jobs = Jobs(tmp_path, {})
        jobs.create("default", manifest("slow", "sleeper", [], activeDeadlineSeconds=1))
        return await finished(jobs, "slow", timeout_s=20)

    status = asyncio.run(scenario())
    assert status["failed"] == 1 and status["conditions"][0]["reason"] == "DeadlineExceeded"


def test_a_failing_pod_is_retried_up_to_the_backoff_limit(tmp_path, monkeypatch) -> None:
    monkeypatch.setitem(local_jobs.LOCAL_IMAGES, "failer", ("-c", "raise SystemExit(3)"))

    async def scenario() -> dict:
        jobs = Jobs(tmp_path, {})
        jobs.create("default", manifest("bad", "failer", [], backoffLimit=1))
        return await finished(jobs, "bad")

    status = asyncio.run(scenario())
    assert status["failed"] == 2 and status["conditions"][0]["reason"] == "BackoffLimitExceeded"


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"kind": "Pod"}, 400),
        ({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "x"}}, 400),
        (manifest("x", "docker.io/library/busybox", ["sh"]), 422),
    ],
)
def test_jobs_the_platform_cannot_run_are_refused_with_the_reason(tmp_path, body, status) -> None:
    async def scenario() -> None:
        Jobs(tmp_path, {}).create("default", body)

    with pytest.raises(JobError) as refused:
        asyncio.run(scenario())
    assert refused.value.status == status


def test_only_known_images_have_a_local_command() -> None:
    assert command_for_image("ghcr.io/binks-functions/worker@sha256:abc")[1:] == [
        "-m",
        "functions.worker",
    ]

"""``dev.binks.cluster.job.requested``: the Job is started once, bounded, and reported,
through the real ``kubernetes`` client against the API stand-in."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from events import CLUSTER_JOB_COMPLETED, CLUSTER_JOB_FAILED, validate_data
from functions.cluster_operator.backends import ClusterBackend, KubernetesBackend
from functions.cluster_operator.config import OperatorConfig
from functions.cluster_operator.jobs import job_name, run_job
from functions.cluster_operator.policy import Policy
from shared.role import Context

from .k8s_standin import KubernetesStandIn

POLICY = Policy(namespaces=frozenset({"default"}), job_images=("ghcr.io/binks-functions/worker",))
CONTEXT = Context(variant="crewai", model="m", workspace=Path("."), task="task-7")
REQUEST = {
    "namespace": "default",
    "name": "check",
    "image": "ghcr.io/binks-functions/worker:0.1.0",
    "args": ["check", "bench/sample-repo"],
    "purpose": "count lines",
}


@pytest.fixture
def api() -> Iterator[KubernetesStandIn]:
    stand_in = KubernetesStandIn()
    yield stand_in
    stand_in.close()


def config(backend: ClusterBackend | None, job_wait_s: float = 120.0) -> OperatorConfig:
    return OperatorConfig(POLICY, backend, job_wait_s)


def posts(api: KubernetesStandIn) -> list[dict]:
    return [json.loads(body) for method, _, body in api.requests if method == "POST"]


def test_a_requested_job_runs_bounded_and_its_outcome_is_reported(api) -> None:
    reply = run_job(REQUEST, CONTEXT, config(KubernetesBackend(api.api_client())))
    assert reply.type == CLUSTER_JOB_COMPLETED and not reply.failed, reply
    validate_data(reply.type, reply.data)
    assert reply.data["outcome"] == "succeeded" and reply.data["succeeded"] == 1
    assert reply.data["name"] == job_name(REQUEST, CONTEXT) and "-crewai-" in reply.data["name"]
    assert "config file missing" in reply.data["logs"]  # the Job's pod log, via job-name=
    (job,) = posts(api)
    container = job["spec"]["template"]["spec"]["containers"][0]
    assert container["args"] == ["check", "bench/sample-repo"]  # a list: no shell splits it
    assert job["spec"]["activeDeadlineSeconds"] == POLICY.max_job_seconds


def test_a_redelivered_request_finds_its_job_instead_of_starting_another(api) -> None:
    operator = config(KubernetesBackend(api.api_client()))
    first = run_job(REQUEST, CONTEXT, operator)
    again = run_job(REQUEST, CONTEXT, operator)
    assert again.data["name"] == first.data["name"] and again.data["outcome"] == "succeeded"
    assert len(api.jobs) == 1  # the second POST got 409 AlreadyExists


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"image": "docker.io/library/busybox"}, "not allowed"),
        ({"image": "ghcr.io/binks-functions/worker-evil:0.1.0"}, "not allowed"),
        ({"namespace": "kube-system"}, "namespace 'kube-system' is not allowed"),
    ],
)
def test_a_job_outside_the_policy_fails_and_is_never_sent(api, change, reason) -> None:
    reply = run_job({**REQUEST, **change}, CONTEXT, config(KubernetesBackend(api.api_client())))
    assert reply.type == CLUSTER_JOB_FAILED and reply.failed
    assert reply.data["error"] == "refused" and reason in reply.data["reason"]
    validate_data(reply.type, reply.data)
    assert posts(api) == []


def test_without_a_cluster_the_step_fails_with_the_reason() -> None:
    reply = run_job(REQUEST, CONTEXT, config(None))
    assert reply.type == CLUSTER_JOB_FAILED and reply.data["error"] == "no_cluster"


class SlowBackend:
    """A Job that never finishes within the wait."""

    def create_job(self, namespace: str, manifest: dict) -> dict:
        return {"name": manifest["metadata"]["name"], "namespace": namespace, "created": True}

    def job_status(self, namespace: str, name: str) -> dict:
        return {"name": name, "active": 1, "succeeded": 0, "failed": 0, "conditions": []}

    def job_logs(self, namespace: str, name: str, lines: int) -> str:
        return "still working\n"


def test_the_wait_is_bounded_and_a_running_job_says_so() -> None:
    now = [0.0]
    reply = run_job(
        REQUEST,
        CONTEXT,
        config(SlowBackend(), job_wait_s=5),
        clock=lambda: now[0],
        sleep=lambda s: now.__setitem__(0, now[0] + s),
    )
    assert reply.data["outcome"] == "running" and reply.data["active"] == 1
    assert reply.data["elapsed_ms"] == 5000

"""The cluster operator's tools through the real ``kubernetes`` client against the API
stand-in: what they read, and what they refuse without ever calling the API."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from functions.cluster_operator.backends import KubernetesBackend
from functions.cluster_operator.policy import Policy, Refused
from functions.cluster_operator.tools import cluster_tools, job_manifest

from .k8s_standin import KubernetesStandIn

WORKER = "ghcr.io/binks-functions/worker"
POLICY = Policy(namespaces=frozenset({"default"}), job_images=(WORKER,))


@pytest.fixture
def api() -> Iterator[KubernetesStandIn]:
    stand_in = KubernetesStandIn()
    yield stand_in
    stand_in.close()


@pytest.fixture
def tools(api: KubernetesStandIn) -> dict:
    backend = KubernetesBackend(api.api_client())
    return {tool.name: tool.function for tool in cluster_tools(backend, POLICY)}


def test_read_only_queries_answer_from_the_api(tools: dict) -> None:
    pod = json.loads(tools["list_pods"]("default"))
    assert pod == {
        "name": "web-7d9f",
        "phase": "Running",
        "ready": False,
        "restarts": 7,
        "node": "pi-1",
    }
    assert json.loads(tools["list_nodes"]())["arch"] == "arm64"
    assert "BackOff" in tools["list_events"]("default")
    assert json.loads(tools["list_deployments"]("default")) == {
        "name": "web",
        "replicas": 2,
        "ready": 1,
    }
    assert json.loads(tools["list_knative_services"]("default"))["ready"] == "True"
    assert tools["read_logs"]("default", "web-7d9f", 10) == "boom: config file missing\n"


@pytest.mark.parametrize(
    ("tool", "args", "reason"),
    [
        ("list_pods", ("kube-system",), "not allowed"),
        ("list_pods", ("Default; rm -rf /",), "not a valid DNS-1123 name"),
        ("read_logs", ("default", "../../etc/passwd"), "not a valid DNS-1123 name"),
        ("spawn_job", ("default", "worker", "docker.io/evil/miner"), "not allowed"),
        ("spawn_job", ("default", "worker", f"{WORKER}-evil"), "not allowed"),
        ("spawn_job", ("default", "worker", f"{WORKER}/../x"), "not a valid image reference"),
        ("spawn_job", ("kube-system", "worker", WORKER), "not allowed"),
        ("spawn_job", ("default", "Bad_Name", WORKER), "DNS-1123"),
        ("spawn_job", ("default", "worker\n", WORKER), "DNS-1123"),
    ],
)
def test_calls_outside_the_policy_are_refused_and_never_sent(tools, api, tool, args, reason):
    answer = tools[tool](*args)
    assert answer.startswith("error: refused:") and reason in answer
    assert api.requests == []


def test_an_allowed_job_is_created_bounded(tools: dict, api: KubernetesStandIn) -> None:
    answer = json.loads(tools["spawn_job"]("default", "worker-1", f"{WORKER}:1", "a b"))
    assert answer == {"name": "worker-1", "namespace": "default", "created": True}
    ((method, path, body),) = api.requests
    assert (method, path) == ("POST", "/apis/batch/v1/namespaces/default/jobs")
    spec = json.loads(body)["spec"]
    assert spec["activeDeadlineSeconds"] == 600 and spec["backoffLimit"] == 1
    assert spec["ttlSecondsAfterFinished"] == 600
    container = spec["template"]["spec"]["containers"][0]
    assert container["args"] == ["a", "b"] and container["resources"]["limits"]["memory"] == "256Mi"


def test_job_status_reports_the_outcome(tools: dict) -> None:
    status = json.loads(tools["job_status"]("default", "worker-1"))
    assert status == {
        "name": "worker-1",
        "active": 0,
        "succeeded": 1,
        "failed": 0,
        "conditions": ["Complete=True"],
    }
    assert tools["job_status"]("kube-system", "x").startswith("error: refused:")


def test_api_errors_go_back_to_the_model_as_text(api: KubernetesStandIn) -> None:
    policy = Policy(namespaces=frozenset({"default", "other"}))
    backend = KubernetesBackend(api.api_client())
    tools = {tool.name: tool.function for tool in cluster_tools(backend, policy)}
    answer = tools["list_pods"]("other")
    assert answer.startswith("error: ") and "(404)" in answer


def test_no_job_images_means_no_jobs() -> None:
    with pytest.raises(Refused, match="not allowed"):
        job_manifest(Policy(namespaces=frozenset({"default"})), "default", "w", "anything", [])


def test_policy_from_environment() -> None:
    policy = Policy.from_env({"BINKS_ALLOWED_NAMESPACES": "shop, default", "BINKS_JOB_IMAGES": ""})
    assert policy.namespaces == {"shop", "default"} and policy.job_images == ()


DIGEST = "sha256:" + "0123456789abcdef" * 4


@pytest.mark.parametrize(
    ("entry", "image"),
    [
        (WORKER, WORKER),
        (WORKER, f"{WORKER}:0.1.0"),
        (WORKER, f"{WORKER}@{DIGEST}"),
        (WORKER, f"{WORKER}:0.1.0@{DIGEST}"),
        (f"{WORKER}:0.1.0", f"{WORKER}:0.1.0"),
        (f"{WORKER}@{DIGEST}", f"{WORKER}@{DIGEST}"),
        (f"{WORKER}@{DIGEST}", f"{WORKER}:0.1.0@{DIGEST}"),  # the digest decides what runs
        ("localhost:5000/worker", "localhost:5000/worker:dev"),
    ],
)
def test_an_image_of_an_allowed_repository_is_allowed(entry: str, image: str) -> None:
    policy = Policy(namespaces=frozenset({"default"}), job_images=(entry,))
    assert policy.image(image) == image


@pytest.mark.parametrize(
    ("entry", "image", "reason"),
    [
        (WORKER, f"{WORKER}-evil", "is not allowed"),
        (WORKER, f"{WORKER}z", "is not allowed"),
        (WORKER, f"{WORKER}/extra", "is not allowed"),
        (WORKER, "ghcr.io/binks-functions/work", "is not allowed"),
        (WORKER, f"evil.example/{WORKER}", "is not allowed"),
        (WORKER, "worker", "is not allowed"),  # docker.io/library/worker on a cluster
        (WORKER, f"{WORKER}/../x", "is not a valid image reference"),
        (WORKER, f"{WORKER}:tag:more", "is not a valid image reference"),
        (WORKER, f"{WORKER}@sha256:abc", "is not a valid image reference"),
        (WORKER, f"{WORKER}@md5:{'0' * 32}", "is not a valid image reference"),
        (WORKER, "GHCR.IO/binks-functions/worker", "is not a valid image reference"),
        (WORKER, "ghcr.io/binks-functions/Worker", "is not a valid image reference"),
        (WORKER, f"{WORKER} ", "is not a valid image reference"),
        (WORKER, f"{WORKER}\n", "is not a valid image reference"),
        (WORKER, "", "is not a valid image reference"),
        (f"{WORKER}:0.1.0", f"{WORKER}:0.2.0", "is not allowed"),
        (f"{WORKER}:0.1.0", WORKER, "is not allowed"),
        (f"{WORKER}:0.1.0", f"{WORKER}:0.1.0@{DIGEST}", "is not allowed"),  # the digest wins
        (f"{WORKER}@{DIGEST}", f"{WORKER}:0.1.0", "is not allowed"),
        ("ghcr.io/binks-functions/", f"{WORKER}:0.1.0", "is not allowed"),  # no prefixes
    ],
)
def test_only_the_exact_repository_is_allowed(entry: str, image: str, reason: str) -> None:
    policy = Policy(namespaces=frozenset({"default"}), job_images=(entry,))
    with pytest.raises(Refused) as refused:
        policy.image(image)
    assert reason in str(refused.value)


def test_a_refusal_names_the_allow_list_and_flags_an_entry_that_admits_nothing() -> None:
    policy = Policy.from_env({"BINKS_JOB_IMAGES": f"{WORKER}, ghcr.io/binks-functions/"})
    with pytest.raises(Refused) as refused:
        policy.image(f"{WORKER}-evil:1")
    assert str(refused.value) == (
        f"image '{WORKER}-evil:1' is not allowed (BINKS_JOB_IMAGES: {WORKER}, "
        "'ghcr.io/binks-functions/' (not an image reference, ignored))"
    )
    assert policy.image(f"{WORKER}:0.1.0") == f"{WORKER}:0.1.0"

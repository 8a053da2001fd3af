"""The cluster operator's configuration, read once from the environment its app is given:
the policy, the backend (the kubeconfig named there, not the process's) and the Job wait."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from events import CLUSTER_INSPECT_COMPLETED, CLUSTER_INSPECT_REQUESTED, VARIANTS
from functions.cluster_operator.backends import KubernetesBackend, LocalBackend
from functions.cluster_operator.config import configure
from functions.cluster_operator.role import ROLE
from shared.role import Context
from shared.runtime.app import RoleNotConfigured

from .apps import ScriptedRunner, role_app, send
from .k8s_standin import KubernetesStandIn

CONTEXT = Context(variant="agno", model="m", workspace=Path("."))
WORKER = "ghcr.io/binks-functions/worker"


@pytest.fixture
def api() -> Iterator[KubernetesStandIn]:
    stand_in = KubernetesStandIn()
    yield stand_in
    stand_in.close()


def test_the_policy_comes_from_the_given_environment() -> None:
    env = {"BINKS_CLUSTER": "local", "BINKS_ALLOWED_NAMESPACES": "shop", "BINKS_JOB_IMAGES": WORKER}
    config = configure(env, CONTEXT)
    assert config.policy.namespaces == frozenset({"shop"})
    assert config.policy.job_images == (WORKER,)
    assert config.backend is None  # local, but no K_SINK: no platform to ask


def test_the_local_backend_is_the_platform_behind_k_sink() -> None:
    env = {"K_SINK": "http://127.0.0.1:9/default/default", "BINKS_PLATFORM_TOKEN": "t"}
    backend = configure({"BINKS_CLUSTER": "local", **env}, CONTEXT).backend
    assert isinstance(backend, LocalBackend), backend
    assert (backend.url, backend.auth) == ("http://127.0.0.1:9", {"Authorization": "Bearer t"})


def test_the_kubernetes_backend_reads_the_kubeconfig_of_the_given_environment(
    api: KubernetesStandIn, tmp_path: Path
) -> None:
    env = {"BINKS_CLUSTER": "kubernetes", "KUBECONFIG": str(api.kubeconfig(tmp_path))}
    backend = configure(env, CONTEXT).backend
    assert isinstance(backend, KubernetesBackend), backend
    assert [pod["name"] for pod in backend.pods("default")] == ["web-7d9f"]
    assert api.requests[0][1] == "/api/v1/namespaces/default/pods"


def test_the_job_wait_comes_from_the_environment_at_most_the_deadline() -> None:
    def wait(value: str | None) -> float:
        env = {"BINKS_CLUSTER": "local", "BINKS_JOB_IMAGES": WORKER}
        if value is not None:
            env["BINKS_JOB_WAIT_S"] = value
        return configure(env, CONTEXT).job_wait_s

    assert (wait(None), wait("5"), wait("0"), wait("9999")) == (120.0, 5.0, 0.0, 600.0)


@pytest.mark.parametrize("value", ["soon", "-1", "nan"])
def test_a_bad_job_wait_is_refused_by_name(value: str) -> None:
    with pytest.raises(ValueError, match="BINKS_JOB_WAIT_S"):
        configure({"BINKS_CLUSTER": "local", "BINKS_JOB_WAIT_S": value}, CONTEXT)


@pytest.mark.parametrize("variant", VARIANTS)
def test_variant_app_inspects_through_the_configured_backend(variant, api, tmp_path) -> None:
    answer = '{"summary": "fine", "observations": []}'
    env = {"BINKS_CLUSTER": "kubernetes", "KUBECONFIG": str(api.kubeconfig(tmp_path))}
    runner = ScriptedRunner(variant, answer)
    client = role_app(ROLE, runner, tmp_path, **env)
    question = {"namespace": "default", "question": "healthy?"}
    answered = send(client, CLUSTER_INSPECT_REQUESTED, question)
    assert (answered.status, answered.type) == (200, CLUSTER_INSPECT_COMPLETED), answered
    (task,) = runner.tasks
    list_pods = next(tool for tool in task.tools if tool.name == "list_pods")
    assert '"name":"web-7d9f"' in list_pods.function("default")  # the stand-in answered


@pytest.mark.parametrize("variant", VARIANTS)
def test_variant_app_with_a_missing_kubeconfig_refuses_to_start(variant, tmp_path) -> None:
    env = {"BINKS_CLUSTER": "kubernetes", "KUBECONFIG": str(tmp_path / "missing")}
    with pytest.raises(RoleNotConfigured, match=f"cluster-operator-{variant} cannot start"):
        role_app(ROLE, ScriptedRunner(variant), tmp_path, **env)

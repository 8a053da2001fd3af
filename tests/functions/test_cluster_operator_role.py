"""The cluster operator role: its handlers, its app on both variants, and both variants
as real processes, where the real framework drives the real ``kubernetes`` client
(kubeconfig → the API stand-in) through its tools."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path

import pytest

from events import (
    CLUSTER_INSPECT_COMPLETED,
    CLUSTER_INSPECT_FAILED,
    CLUSTER_INSPECT_REQUESTED,
    CLUSTER_JOB_FAILED,
    CLUSTER_JOB_REQUESTED,
    VARIANTS,
)
from functions.cluster_operator.config import OperatorConfig
from functions.cluster_operator.policy import Policy
from functions.cluster_operator.role import INSPECT, ROLE, inspect_completed, inspect_prompt
from localknative.instances import FunctionProcess, FunctionSpec
from modelserver.scripted import ScriptedOllama, team_script, tools_script
from shared.role import Context, Prompt, Reply

from .apps import ScriptedRunner, role_app, send
from .k8s_standin import KubernetesStandIn

ANSWER = {
    "summary": "web is crash-looping.",
    "observations": [
        {"object": "pod/web-7d9f", "status": "error", "message": "CrashLoopBackOff, 7 restarts"}
    ],
}


CONTEXT = Context(variant="agno", model="m", workspace=Path("."))
REQUEST = {"namespace": "default", "question": "healthy?"}
#: No cluster at all: ``local`` without ``K_SINK`` (a kubeconfig on the machine is not read).
NO_CLUSTER = {"BINKS_CLUSTER": "local", "BINKS_ALLOWED_NAMESPACES": "default"}


def config(backend: object | None = None) -> OperatorConfig:
    return OperatorConfig(Policy(namespaces=frozenset({"default"})), backend)  # type: ignore[arg-type]


def test_the_prompt_asks_the_question_with_the_cluster_tools() -> None:
    prompt = inspect_prompt(REQUEST, CONTEXT, config(backend=object()))
    assert isinstance(prompt, Prompt), prompt
    assert prompt.text == "Namespace: default\nQuestion: healthy?"
    assert [tool.name for tool in prompt.tools][:2] == ["list_pods", "list_events"]


def test_a_namespace_outside_the_allow_list_fails_without_a_run() -> None:
    reply = inspect_prompt({**REQUEST, "namespace": "kube-system"}, CONTEXT, config(object()))
    assert isinstance(reply, Reply) and reply.type == CLUSTER_INSPECT_FAILED, reply
    assert reply.data["error"] == "namespace_not_allowed"


def test_without_a_cluster_the_inspection_fails_without_a_run() -> None:
    reply = inspect_prompt(REQUEST, CONTEXT, config(backend=None))
    assert isinstance(reply, Reply) and reply.data["error"] == "no_cluster", reply


def test_the_answer_becomes_the_completed_event() -> None:
    reply = inspect_completed(REQUEST, ANSWER, CONTEXT, config())
    assert reply == Reply(
        CLUSTER_INSPECT_COMPLETED,
        {"namespace": "default", **ANSWER, "model": "m", "variant": "agno"},
    )


def test_the_model_is_shown_and_sent_the_schema_it_is_checked_against() -> None:
    schema = INSPECT.answer_schema
    assert schema["required"] == ["summary", "observations"]
    assert "$ref" not in json.dumps(schema)  # model servers cannot follow references


@pytest.mark.parametrize("variant", VARIANTS)
def test_variant_app_without_a_cluster_answers_no_cluster(variant: str, tmp_path) -> None:
    runner = ScriptedRunner(variant)
    answered = send(
        role_app(ROLE, runner, tmp_path, **NO_CLUSTER), CLUSTER_INSPECT_REQUESTED, REQUEST
    )
    assert (answered.status, answered.type) == (200, CLUSTER_INSPECT_FAILED), answered
    assert answered.data["error"] == "no_cluster" and answered.data["variant"] == variant
    assert runner.tasks == []


@pytest.mark.parametrize("variant", VARIANTS)
def test_variant_app_runs_a_job_request_without_the_model(variant: str, tmp_path) -> None:
    runner = ScriptedRunner(variant)
    job = {"namespace": "default", "name": "check", "image": "ghcr.io/x/worker:1", "purpose": "p"}
    answered = send(role_app(ROLE, runner, tmp_path, **NO_CLUSTER), CLUSTER_JOB_REQUESTED, job)
    assert (answered.status, answered.type) == (200, CLUSTER_JOB_FAILED), answered
    assert answered.data["error"] == "no_cluster"
    assert runner.tasks == []


@pytest.mark.process
@pytest.mark.parametrize("variant", VARIANTS)
def test_variant_inspects_a_namespace_through_the_kubernetes_client(variant, tmp_path) -> None:
    api = KubernetesStandIn()
    calls = [
        ("list_pods", {"namespace": "default"}),
        ("read_logs", {"namespace": "default", "pod": "web-7d9f"}),
        ("list_pods", {"namespace": "kube-system"}),
    ]
    script = team_script({"You are a Kubernetes operator": tools_script(calls, ANSWER)})
    env = {
        "BINKS_CLUSTER": "kubernetes",
        "KUBECONFIG": str(api.kubeconfig(tmp_path)),
        "BINKS_ALLOWED_NAMESPACES": "default",
    }
    try:
        with ScriptedOllama(script) as model:
            env["OLLAMA_HOST"] = model.url
            spec = FunctionSpec("cluster_operator", variant)
            with FunctionProcess(spec, env=env) as instance:
                instance.wait_ready()
                body = json.dumps({"namespace": "default", "question": "healthy?"}).encode()
                request = urllib.request.Request(
                    instance.url, body, {"Content-Type": "application/json"}
                )
                with urllib.request.urlopen(request, timeout=120) as answer:
                    data = json.loads(answer.read())
            tool_results = [
                str(m.get("content"))
                for m in model.requests[-1]["body"]["messages"]
                if m["role"] == "tool"
            ]
    finally:
        api.close()
    assert data["observations"] == ANSWER["observations"] and data["variant"] == variant
    assert [path for _, path, _ in api.requests] == [
        "/api/v1/namespaces/default/pods",
        "/api/v1/namespaces/default/pods/web-7d9f/log",
    ]
    assert '"restarts":7' in tool_results[0]
    assert "boom: config file missing" in tool_results[1]
    assert tool_results[2].startswith("error: refused: namespace 'kube-system' is not allowed")

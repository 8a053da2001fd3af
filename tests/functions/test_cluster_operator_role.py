"""The cluster operator role, in both variants as real processes: the real framework
drives the real ``kubernetes`` client (kubeconfig → the API stand-in) through its tools."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path

import pytest

from events import CLUSTER_INSPECT_FAILED, VARIANTS
from functions.cluster_operator.role import ROLE
from localknative.instances import FunctionProcess, FunctionSpec
from modelserver.scripted import ScriptedOllama, team_script, tools_script
from shared.role import Context, Reply

from .k8s_standin import KubernetesStandIn

ANSWER = {
    "summary": "web is crash-looping.",
    "observations": [
        {"object": "pod/web-7d9f", "status": "error", "message": "CrashLoopBackOff, 7 restarts"}
    ],
}


def test_a_namespace_outside_the_allow_list_fails_without_a_run(monkeypatch) -> None:
    monkeypatch.setenv("BINKS_ALLOWED_NAMESPACES", "default")
    context = Context(variant="agno", model="m", workspace=Path("."))
    reply = ROLE.prepare({"namespace": "kube-system", "question": "secrets?"}, context)
    assert isinstance(reply, Reply) and reply.type == CLUSTER_INSPECT_FAILED
    assert reply.data["error"] == "namespace_not_allowed"


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

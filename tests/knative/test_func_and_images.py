"""func.yaml per function agrees with the cluster overlay (its Service and its Triggers)
and with func's schema; each variant's Containerfile builds what the issue asks (checked
by reading it: no image builder runs here)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml
from jsonschema import Draft202012Validator

from localknative.kustomize import build
from localknative.paths import REPO

from .subscriptions import subscriptions

FUNCS = sorted((REPO / "knative" / "func").glob("*/func.yaml"))
ROLE_PACKAGES = sorted(p.parent.name for p in (REPO / "functions").glob("*/role.py"))
FUNC_SCHEMA = json.loads((REPO / "knative" / "func" / "func.schema.json").read_text())


def _cluster_services() -> dict[str, dict]:
    return {
        r.document["metadata"]["name"]: r.document
        for r in build(REPO / "knative" / "overlays" / "cluster")
        if r.document["kind"] == "Service"
        and "binks.dev/role" in r.document["metadata"].get("labels", {})
    }


def _cluster_triggers() -> dict[str, list[dict]]:
    """Service name → the Triggers that deliver to it."""
    triggers: dict[str, list[dict]] = {}
    for resource in build(REPO / "knative" / "overlays" / "cluster"):
        if resource.document["kind"] == "Trigger":
            name = resource.document["spec"]["subscriber"]["ref"]["name"]
            triggers.setdefault(name, []).append(resource.document)
    return triggers


def test_one_func_yaml_per_function() -> None:
    assert sorted(p.parent.name for p in FUNCS) == sorted(_cluster_services())


@pytest.mark.parametrize("path", FUNCS, ids=lambda p: p.parent.name)
def test_func_yaml_matches_the_cluster_service(path: Path) -> None:
    func = yaml.safe_load(path.read_text())
    func["created"] = str(func["created"])  # YAML reads an unquoted timestamp as one
    problems = [e.message for e in Draft202012Validator(FUNC_SCHEMA).iter_errors(func)]
    assert problems == [], problems
    assert func["name"] == path.parent.name
    service = _cluster_services()[func["name"]]
    template = service["spec"]["template"]
    container = template["spec"]["containers"][0]
    annotations = template["metadata"]["annotations"]
    assert func["image"] == container["image"]
    assert func["namespace"] == func["deploy"]["namespace"] == service["metadata"]["namespace"]
    assert func["run"]["envs"] == container["env"]
    deploy = func["deploy"]
    assert deploy["serviceAccountName"] == template["spec"]["serviceAccountName"]
    assert deploy["healthEndpoints"]["readiness"] == container["readinessProbe"]["httpGet"]["path"]
    assert {i["key"]: i["value"] for i in deploy["labels"]} == service["metadata"]["labels"]
    scale = deploy["options"]["scale"]
    assert str(scale["min"]) == annotations["autoscaling.knative.dev/min-scale"]
    assert str(scale["max"]) == annotations["autoscaling.knative.dev/max-scale"]
    resources = deploy["options"]["resources"]
    assert resources["requests"] == container["resources"]["requests"]
    limits = dict(resources["limits"])
    assert limits.pop("concurrency") == template["spec"]["containerConcurrency"]
    assert limits == container["resources"]["limits"]


@pytest.mark.parametrize("path", FUNCS, ids=lambda p: p.parent.name)
def test_func_deploy_subscribes_to_what_the_triggers_deliver(path: Path) -> None:
    func = yaml.safe_load(path.read_text())
    triggers = _cluster_triggers()[func["name"]]
    expected = [sub for trigger in triggers for sub in subscriptions(trigger)]
    assert func["deploy"]["subscriptions"] == expected, func["deploy"]["subscriptions"]


def test_a_trigger_filter_func_cannot_express_is_refused_not_dropped() -> None:
    trigger = {"spec": {"broker": "default", "filters": [{"cesql": "source LIKE '/x%'"}]}}
    with pytest.raises(ValueError, match="no func subscription"):
        subscriptions(trigger)
    own = {"cesql": "binksvariant = 'agno' AND type IN ('a', 'b')"}
    assert subscriptions({"spec": {"broker": "default", "filters": [own]}}) == [
        {"source": "default", "filters": {"binksvariant": "agno", "type": "a"}},
        {"source": "default", "filters": {"binksvariant": "agno", "type": "b"}},
    ]


@pytest.mark.parametrize("role", ROLE_PACKAGES)
def test_an_image_needs_only_its_own_role_package(role: str) -> None:
    # The Containerfile copies events/, shared/ and functions/<role>/ only.
    for path in (REPO / "functions" / role).rglob("*.py"):
        imported = set(re.findall(r"^\s*(?:from|import) functions\.(\w+)", path.read_text(), re.M))
        assert imported <= {role}, f"{path}: imports {imported - {role}}"
        tops = set(
            re.findall(
                r"^\s*(?:from|import) (binks|localknative|modelserver|bench)\b",
                path.read_text(),
                re.M,
            )
        )
        assert not tops, f"{path}: imports {tops}, which the image does not ship"


def test_the_build_context_lets_in_only_what_images_copy() -> None:
    for name in (".containerignore", ".dockerignore"):
        text = (REPO / name).read_text()
        lines = [line for line in text.splitlines() if line and not line.startswith("#")]
        assert lines[0] == "*" and "!shared/" in lines and "!functions/" in lines

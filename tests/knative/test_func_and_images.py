"""func.yaml per function agrees with the cluster overlay; each variant's Containerfile
builds what the issue asks (checked by reading it: no image builder runs here)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from localknative.kustomize import build
from localknative.paths import REPO

FUNCS = sorted((REPO / "knative" / "func").glob("*/func.yaml"))
ROLE_PACKAGES = sorted(p.parent.name for p in (REPO / "functions").glob("*/role.py"))
_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
# func's schema (knative/func schema/func_yaml-schema.json): the fields we write.
_TOP = {
    "specVersion",
    "name",
    "runtime",
    "namespace",
    "image",
    "created",
    "invoke",
    "run",
    "deploy",
}
_DEPLOY = {"namespace", "serviceAccountName", "healthEndpoints", "labels", "options"}


def _cluster_services() -> dict[str, dict]:
    return {
        r.document["metadata"]["name"]: r.document
        for r in build(REPO / "knative" / "overlays" / "cluster")
        if r.document["kind"] == "Service"
        and "binks.dev/role" in r.document["metadata"].get("labels", {})
    }


def test_one_func_yaml_per_function() -> None:
    assert sorted(p.parent.name for p in FUNCS) == sorted(_cluster_services())


@pytest.mark.parametrize("path", FUNCS, ids=lambda p: p.parent.name)
def test_func_yaml_matches_the_cluster_service(path: Path) -> None:
    func = yaml.safe_load(path.read_text())
    assert {"specVersion", "created"} <= set(func) <= _TOP, path
    assert set(func["deploy"]) <= _DEPLOY and func["invoke"] in ("http", "cloudevent")
    assert _NAME.match(func["name"]) and func["name"] == path.parent.name
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

"""The Python kustomize subset builds what ``kubectl kustomize`` builds, and refuses
what it does not implement instead of ignoring it."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from localknative.kustomize import KustomizeError, build
from localknative.paths import REPO

KUBECTL = shutil.which("kubectl")
OVERLAYS = ("base", "overlays/local", "overlays/cluster", "overlays/pi")


def _write(directory: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (directory / name).parent.mkdir(parents=True, exist_ok=True)
        (directory / name).write_text(text)
    return directory


def _by_identity(documents) -> dict:
    found = {}
    for document in documents:
        metadata = document["metadata"]
        group = document["apiVersion"].rpartition("/")[0]
        found[(group, document["kind"], metadata.get("namespace") or "", metadata["name"])] = (
            document
        )
    return found


@pytest.mark.skipif(KUBECTL is None, reason="kubectl is not installed (CI has only Python)")
@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_same_objects_as_kubectl_kustomize(overlay: str) -> None:
    built = subprocess.run(
        [KUBECTL, "kustomize", str(REPO / "knative" / overlay)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    theirs = _by_identity(yaml.safe_load_all(built.stdout))
    ours = _by_identity(r.document for r in build(REPO / "knative" / overlay))
    assert sorted(ours) == sorted(theirs)
    for identity, document in ours.items():
        assert document == theirs[identity], identity


SERVICE = """apiVersion: serving.knative.dev/v1
kind: Service
metadata:
  name: {name}
  labels: {{binks.dev/variant: {variant}}}
spec:
  template:
    spec:
      containers:
        - image: example.org/{name}:1
          env: [{{name: A, value: "1"}}]
"""
RBAC = """apiVersion: v1
kind: ServiceAccount
metadata: {name: robot, namespace: default}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: robot}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: view}
subjects:
  - {kind: ServiceAccount, name: robot, namespace: default}
  - {kind: ServiceAccount, name: stranger, namespace: default}
---
apiVersion: v1
kind: Namespace
metadata: {name: placeholder}
"""


@pytest.fixture
def base(tmp_path: Path) -> Path:
    return _write(
        tmp_path / "base",
        {
            "kustomization.yaml": "resources: [a.yaml, b.yaml, rbac.yaml]\n",
            "a.yaml": SERVICE.format(name="a", variant="agno"),
            "b.yaml": SERVICE.format(name="b", variant="crewai"),
            "rbac.yaml": RBAC,
        },
    )


def test_namespace_moves_objects_names_the_namespace_and_follows_accounts(base: Path) -> None:
    overlay = _write(
        base.parent / "ov", {"kustomization.yaml": "namespace: team\nresources: [../base]\n"}
    )
    objects = _by_identity(r.document for r in build(overlay))
    assert ("serving.knative.dev", "Service", "team", "a") in objects
    assert ("", "Namespace", "", "team") in objects  # kustomize renames it
    binding = objects[("rbac.authorization.k8s.io", "ClusterRoleBinding", "", "robot")]
    # an account of this build follows it; one the build does not hold stays where it was
    assert [s["namespace"] for s in binding["subjects"]] == ["team", "default"]


def test_patches_json6902_by_label_and_strategic_merge_by_name(base: Path) -> None:
    overlay = _write(
        base.parent / "ov",
        {
            "kustomization.yaml": """resources: [../base]
patches:
  - target: {kind: Service, labelSelector: binks.dev/variant=crewai}
    patch: |-
      - {op: add, path: /spec/template/spec/containers/0/env/-, value: {name: B, value: "2"}}
  - path: merge.yaml
labels:
  - pairs: {team: binks}
images:
  - {name: example.org/a, newName: registry.local/a, newTag: "2"}
""",
            "merge.yaml": """apiVersion: serving.knative.dev/v1
kind: Service
metadata: {name: a}
spec:
  template:
    spec:
      nodeSelector: {kubernetes.io/arch: arm64}
""",
        },
    )
    resources = {r.identity[3]: r for r in build(overlay)}
    a, b = resources["a"].document, resources["b"].document
    assert [e["name"] for e in b["spec"]["template"]["spec"]["containers"][0]["env"]] == ["A", "B"]
    assert a["spec"]["template"]["spec"]["nodeSelector"] == {"kubernetes.io/arch": "arm64"}
    assert a["spec"]["template"]["spec"]["containers"][0]["image"] == "registry.local/a:2"
    assert b["spec"]["template"]["spec"]["containers"][0]["image"] == "example.org/b:1"
    assert a["metadata"]["labels"]["team"] == "binks"
    assert "merge.yaml" in resources["a"].origin and "patches[0]" in resources["b"].origin


@pytest.mark.parametrize(
    ("kustomization", "message"),
    [
        ("resources: [../base]\ncommonLabels: {a: b}\n", "commonLabels: not supported"),
        ("resources: [../base, missing.yaml]\n", r"resources\[1\]: missing.yaml does not exist"),
        ("resources: [../base, ../base]\n", "already defined"),
        (
            "resources: [../base]\npatches:\n  - target: {kind: Service, name: nope}\n"
            "    patch: '[{op: remove, path: /spec}]'\n",
            "matches no resource",
        ),
        (
            "resources: [../base]\npatches:\n  - target: {kind: Service, name: a}\n"
            "    patch: '[{op: replace, path: /spec/nothing/here, value: 1}]'\n",
            r"patches\[0\]: op 0: /spec/nothing/here does not exist",
        ),
        (
            "resources: [../base]\npatches:\n  - target: {kind: Service}\n"
            "    patch: '[{op: move, from: /a, path: /b}]'\n",
            "not supported",
        ),
    ],
)
def test_what_it_cannot_build_is_named(base: Path, kustomization: str, message: str) -> None:
    overlay = _write(base.parent / "ov", {"kustomization.yaml": kustomization})
    with pytest.raises(KustomizeError, match=message) as caught:
        build(overlay)
    assert "kustomization.yaml" in str(caught.value)

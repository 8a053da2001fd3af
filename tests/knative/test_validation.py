"""Every overlay, built, passes the real Knative CRD schemas, the Kubernetes API types
and the webhook rules; a broken manifest fails with its file and field."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from localknative.paths import REPO

from . import crds
from .validation import overlay_problems

OVERLAYS = ("base", "overlays/local", "overlays/cluster", "overlays/pi")


def test_the_vendored_crds_are_the_reference_ones() -> None:
    assert crds.available(), f"no CRD schemas in {crds.CRDS}"
    if not crds.REFERENCE.is_dir():
        pytest.skip(f"no reference set beside this checkout ({crds.REFERENCE}) to compare with")
    reference = {
        p.relative_to(crds.REFERENCE): p.read_bytes()
        for p in crds.REFERENCE.rglob("*")
        if p.is_file()
    }
    vendored = {
        p.relative_to(crds.CRDS): p.read_bytes() for p in crds.CRDS.rglob("*") if p.is_file()
    }
    assert vendored == reference


def test_every_kind_we_ship_has_a_schema() -> None:
    kinds = {kind for _, kind in crds.validators()}
    assert {"Service", "Broker", "Trigger", "PingSource", "SinkBinding"} <= kinds


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_overlay_is_valid(overlay: str) -> None:
    problems = overlay_problems(REPO / "knative" / overlay)
    assert not problems, "\n".join(problems)


@pytest.fixture
def broken(tmp_path: Path):
    """A copy of knative/ with one text substitution in one file."""
    copy = tmp_path / "knative"
    shutil.copytree(REPO / "knative", copy)

    def breaking(relative: str, old: str, new: str) -> Path:
        path = copy / relative
        text = path.read_text()
        assert old in text, f"{old!r} not in {relative}"
        path.write_text(text.replace(old, new, 1))
        return copy

    return breaking


@pytest.mark.parametrize(
    ("relative", "old", "new", "expected"),
    [
        # misspelled key: the API server's strict field validation
        ("base/code-reviewer.yaml", "- image: ghcr", "- imagee: ghcr", ["imagee"]),
        # annotations are string maps: an unquoted number is refused
        (
            "base/reporter.yaml",
            'min-scale: "0"',
            "min-scale: 0",
            ["spec.template.metadata.annotations.autoscaling.knative.dev/min-scale"],
        ),
        ("base/orchestrator.yaml", "memory: 96Mi", "memory: 96MB", ["resources.requests.memory"]),
        (
            "base/orchestrator.yaml",
            "containerPort: 8080",
            'containerPort: "8080"',
            ["containerPort"],
        ),
        (
            "base/broker.yaml",
            "backoffPolicy: exponential",
            "backoffPolicy: exponentail",
            ["backoffPolicy"],
        ),
        ("base/code-reviewer.yaml", "  subscriber:", "  subscribr:", ["subscribr"]),
        ("base/code-reviewer.yaml", "OR binksvariant", "OR OR binksvariant", ["spec.filters"]),
        (
            "base/cluster-operator.yaml",
            "type: dev.binks.cluster.job",
            "typ-e: dev.binks.cluster.job",
            ["typ-e"],
        ),
        (
            "base/ping-source.yaml",
            "      name: default",
            "      nmae: default",
            ["spec.sink.ref", "nmae"],
        ),
        (
            "base/rbac.yaml",
            "automountServiceAccountToken: false",
            'automountServiceAccountToken: "no"',
            ["automountServiceAccountToken"],
        ),
        ("base/rbac.yaml", 'verbs: ["get", "list"]', 'verb: ["get", "list"]', ["rules[0].verb"]),
        # an opaque part of the Knative schema, checked against the Kubernetes types
        (
            "overlays/pi/kustomization.yaml",
            "nodeSelector:\n              kubernetes.io/arch: arm64",
            "affinity:\n              nodeAffinty: {}",
            ["spec.template.spec.affinity.nodeAffinty"],
        ),
        ("base/reporter.yaml", 'max-scale: "1"', 'max-scale: "one"', ["max-scale", "whole number"]),
        # a patch whose pinned value moved in the base
        (
            "base/cluster-operator.yaml",
            "BINKS_ALLOWED_NAMESPACES",
            "BINKS_NAMESPACES",
            ["patches[1]", "test failed"],
        ),
    ],
)
def test_a_broken_manifest_names_file_and_field(
    broken, relative: str, old: str, new: str, expected: list[str]
) -> None:
    root = broken(relative, old, new)
    problems = overlay_problems(root / "overlays" / "pi")
    assert problems, "the broken copy passed"
    # the file that holds the defect: the manifest, or the overlay whose patch made it
    files = (Path(relative).name, "kustomization.yaml")
    named = [p for p in problems if any(f in p for f in files) and all(e in p for e in expected)]
    assert named, "\n".join(problems)

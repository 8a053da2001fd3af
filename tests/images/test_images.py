"""envs/images/images.py: the images' names (as the manifests and the orchestrator name
them) and which images and architectures a command selects."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from envs.images import images
from envs.images.host import HOST_ARCH
from envs.images.steps import StepFailed

REPO = Path(__file__).resolve().parents[2]


def _manifest_images() -> set[str]:
    found = set()
    for path in (REPO / "knative" / "base").glob("*.yaml"):
        for doc in yaml.safe_load_all(path.read_text()):
            if not doc or doc.get("kind") != "Service":
                continue
            for container in doc["spec"]["template"]["spec"]["containers"]:
                if "binks-functions" in container["image"]:
                    found.add(container["image"])
    return found


def test_the_images_are_named_as_the_manifests_and_the_orchestrator_name_them() -> None:
    names = {image.name for image in images.all_images("ghcr.io/binks-functions", "0.1.0")}
    functions = {n for n in names if "/worker:" not in n}
    assert functions == _manifest_images()
    assert len(functions) == 2 * len(images.roles()) == 8
    from functions.orchestrator.role import WORKER_IMAGE

    assert WORKER_IMAGE in names
    text = (REPO / "knative" / "base" / "cluster-operator.yaml").read_text()
    assert re.search(r"BINKS_JOB_IMAGES\s+value: ghcr.io/binks-functions/worker\b", text)


def test_a_selection_names_images_and_puts_the_native_architecture_first() -> None:
    chosen, arches = images.selected(
        "r.example", "1", "worker, code-reviewer-agno", "linux/arm64,linux/amd64"
    )
    assert [i.short for i in chosen] == ["code-reviewer-agno", "worker"]
    assert chosen[1].per_arch("arm64") == "r.example/worker:1-arm64"
    assert arches[0] == HOST_ARCH and sorted(arches) == ["amd64", "arm64"]
    everything, _ = images.selected("r.example", "1", "", "linux/amd64")
    assert len(everything) == 9


@pytest.mark.parametrize(
    ("only", "platforms", "message"),
    [("nope", "linux/amd64", "no image named ['nope']"), ("", "linux/s390x", "platform")],
)
def test_a_selection_refuses_unknown_names(only: str, platforms: str, message: str) -> None:
    with pytest.raises(StepFailed) as failure:
        images.selected("r.example", "1", only, platforms)
    assert failure.value.what == "arguments" and message in failure.value.detail

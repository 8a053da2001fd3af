"""What the container tests need: podman and the function images (nothing is pulled)."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from envs.images.images import CODE_LABEL, code_digest
from localknative import containers
from shared import variants

REGISTRY, TAG = "ghcr.io/binks-functions", "0.1.0"


def image(service: str) -> str:
    """The image of a function's Service, e.g. ``code-reviewer-agno``."""
    return f"{REGISTRY}/{service}:{TAG}"


def built_from_other_code(name: str) -> bool:
    """True when image ``name``'s code label is not this checkout's code (an image built
    before the last change: its functions would not be the ones under test)."""
    service = name.rsplit("/", 1)[-1].split(":")[0]
    parsed = variants.parse_service(service)
    role = parsed[0] if parsed else service
    inspected = subprocess.run(
        ["podman", "image", "inspect", name, "--format", f'{{{{index .Labels "{CODE_LABEL}"}}}}'],
        capture_output=True, text=True,
    )  # fmt: skip
    return inspected.stdout.strip() != code_digest(role)


def needs(images: list[str], optional: bool = False) -> None:
    """Skip (or fail, where CI requires containers: ``BINKS_REQUIRE_CONTAINERS=1``)
    unless podman has ``images``, built from this checkout's code; the reason names what
    is missing or stale. ``optional``: skip even in CI (images ``make test`` does not
    build)."""
    required = os.environ.get("BINKS_REQUIRE_CONTAINERS") == "1" and not optional
    if shutil.which("podman") is None:
        reason = "podman is not installed (.ci/run installs it)"
    else:
        missing = containers.missing_images(images)
        stale = [i for i in images if i not in missing and built_from_other_code(i)]
        if not missing and not stale:
            return
        reason = "; ".join(
            f"{what}: {' '.join(names)} (make images PLATFORMS=linux/amd64)"
            for what, names in (("images not built", missing), ("built from other code", stale))
            if names
        )
    if required:
        pytest.fail(f"BINKS_REQUIRE_CONTAINERS=1 but {reason}")
    pytest.skip(reason)

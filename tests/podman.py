"""What the container tests need: podman and the function images (nothing is pulled)."""

from __future__ import annotations

import os
import shutil

import pytest

from localknative import containers

REGISTRY, TAG = "ghcr.io/binks-functions", "0.1.0"


def image(service: str) -> str:
    """The image of a function's Service, e.g. ``code-reviewer-agno``."""
    return f"{REGISTRY}/{service}:{TAG}"


def needs(images: list[str], optional: bool = False) -> None:
    """Skip (or fail, where CI requires containers: ``BINKS_REQUIRE_CONTAINERS=1``)
    unless podman has ``images``; the reason names what is missing. ``optional``: skip
    even in CI (images ``make test`` does not build)."""
    required = os.environ.get("BINKS_REQUIRE_CONTAINERS") == "1" and not optional
    if shutil.which("podman") is None:
        reason = "podman is not installed (.ci/run installs it)"
    else:
        missing = containers.missing_images(images)
        if not missing:
            return
        reason = f"images not built: {' '.join(missing)} (make images PLATFORMS=linux/amd64)"
    if required:
        pytest.fail(f"BINKS_REQUIRE_CONTAINERS=1 but {reason}")
    pytest.skip(reason)

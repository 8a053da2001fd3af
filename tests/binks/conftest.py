"""A real platform with both code reviewers and a scripted model, for the commands that
talk to one (``send``, ``invoke``)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from localknative.launch import RunningPlatform, start_platform
from modelserver.scripted import ScriptedOllama, review_script

REPO = Path(__file__).resolve().parents[2]
BROKER = """
apiVersion: eventing.knative.dev/v1
kind: Broker
metadata: {name: default, namespace: default}
---
"""


@pytest.fixture
def platform(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[RunningPlatform]:
    """A platform with both code reviewers; the scripted model answers ``request.param``."""
    manifests = tmp_path / "manifests"
    manifests.mkdir()
    reviewer = (REPO / "knative/base/code-reviewer.yaml").read_text()
    (manifests / "all.yaml").write_text(BROKER + reviewer)
    with ScriptedOllama(review_script(request.param)) as model:
        env = {"OLLAMA_HOST": model.url_per_service}
        with (tmp_path / "platform.log").open("ab") as log:
            running = start_platform(
                tmp_path / "state", "--manifests", str(manifests), env=env, log=log.fileno()
            )
        try:
            yield running
        finally:
            running.stop(60)


def on(platform: RunningPlatform) -> list[str]:
    """The options that point a command at ``platform`` (its URL and credential)."""
    return ["--platform", platform.url, "--state", str(platform.state)]

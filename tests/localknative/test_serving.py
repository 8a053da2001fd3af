"""Serving with real function processes: scale from zero (held), to zero after the
window, concurrency spill to a second instance, Host routing, and the whole chain
— one request without variant, both variants reply through the broker."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from localknative import cgroups
from modelserver.scripted import ScriptedOllama, review_script
from tests.criu import needs_snapshots

from .chain import run_team_chain
from .conftest import BROKER

pytestmark = pytest.mark.process

ANSWER = {"summary": "scripted", "findings": []}
SERVICE = """
---
apiVersion: serving.knative.dev/v1
kind: Service
metadata: {{name: code-reviewer-{variant}, namespace: default}}
spec:
  template:
    metadata:
      annotations:
        autoscaling.knative.dev/initial-scale: "0"
        autoscaling.knative.dev/max-scale: "2"
    spec:
      containerConcurrency: 1
      containers:
        - image: example.org/binks/code-reviewer-{variant}:test
          readinessProbe: {{httpGet: {{path: /health/readiness}}}}
          resources: {{limits: {{memory: 600Mi}}}}
---
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata: {{name: code-reviewer-{variant}, namespace: default}}
spec:
  broker: default
  filters:
    - exact: {{type: dev.binks.review.requested}}
    - cesql: "NOT EXISTS binksvariant OR binksvariant = '{variant}'"
  subscriber:
    ref: {{apiVersion: serving.knative.dev/v1, kind: Service, name: code-reviewer-{variant}}}
"""
REQUEST = json.dumps({"repository": "sample-repo"}).encode()
HOST = {"Host": "code-reviewer-agno.default.localhost", "Content-Type": "application/json"}


@pytest.fixture
def model() -> Iterator[ScriptedOllama]:
    with ScriptedOllama(review_script(ANSWER), latency_s=0.3) as server:
        yield server


def manifest(*variants: str) -> str:
    delivery = "{retry: 2, backoffPolicy: linear, backoffDelay: PT0.2S}"
    return BROKER.format(delivery=delivery) + "".join(SERVICE.format(variant=v) for v in variants)


def test_scale_from_zero_holds_the_request_then_scales_to_zero(platform_factory, model) -> None:
    platform = platform_factory(manifest("agno"), env={"OLLAMA_HOST": model.url}, window_s=2)
    assert platform.ps()["code-reviewer-agno"]["instances"] == []  # initial-scale 0
    status, _, body = platform.post("/", REQUEST, HOST)  # held while the instance starts
    assert status == 200 and json.loads(body)["summary"] == "scripted"
    row = platform.ps()["code-reviewer-agno"]
    assert len(row["cold_starts_s"]) == 1 and row["cold_starts_s"][0] > 0
    (instance,) = row["instances"]
    if cgroups.available():  # root with cgroup v1, as on the dev machines and CI
        assert instance["memory_limit"] == "applied"
        group = cgroups.ROOT / f"code-reviewer-agno-{instance['pid']}"
        assert int((group / "memory.limit_in_bytes").read_text()) == 600 * 2**20
        assert str(instance["pid"]) in (group / "cgroup.procs").read_text().split()
    platform.wait(
        lambda: platform.ps()["code-reviewer-agno"]["instances"] == [],
        timeout_s=15,
        what="scale to zero after the window",
    )


def test_a_stop_says_what_it_stops(platform_factory, model) -> None:
    platform = platform_factory(manifest("agno"), env={"OLLAMA_HOST": model.url}, window_s=60)
    assert platform.post("/", REQUEST, HOST)[0] == 200  # one instance now runs
    platform.stop()
    log = (platform.state.parent / f"{platform.state.name}-platform.log").read_text()
    said = [line for line in log.splitlines() if "stopping:" in line]
    print(said)
    assert said == [
        "localknative: stopping: 1 instance(s) of code-reviewer-agno; pending deliveries "
        "stay in the event store for the next start"
    ]


def gone(pid: int) -> bool:
    """Process ``pid`` ended (a zombie until init reaps it counts as ended)."""
    try:
        return "State:\tZ" in Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return True


def test_a_killed_platform_leaves_no_instance_behind(platform_factory, model) -> None:
    """SIGKILL (or the OOM killer) gives the platform no chance to stop its instances: the
    kernel sends each one SIGTERM when the platform dies (PR_SET_PDEATHSIG)."""
    platform = platform_factory(manifest("agno"), env={"OLLAMA_HOST": model.url}, window_s=60)
    assert platform.post("/", REQUEST, HOST)[0] == 200
    (instance,) = platform.ps()["code-reviewer-agno"]["instances"]
    platform.stop(kill=True)
    platform.wait(
        lambda: gone(instance["pid"]), 30, f"instance {instance['pid']} to end with the platform"
    )


def test_a_killed_platform_leaves_no_restored_instance_behind(platform_factory, model) -> None:
    """Snapshot start: criu stays a restored copy's parent and blocks every signal but
    SIGKILL, so it dies by SIGKILL with the platform and the copy gets SIGTERM then (its
    parent-death signal, restored by CRIU)."""
    needs_snapshots()
    env = {"OLLAMA_HOST": model.url}
    platform = platform_factory(manifest("agno"), env=env, window_s=2, start="snapshot")
    assert platform.post("/", REQUEST, HOST)[0] == 200  # cold; checkpointed
    platform.wait(lambda: not platform.ps()["code-reviewer-agno"]["instances"], 30, "scale to zero")
    assert platform.post("/", REQUEST, HOST)[0] == 200  # restored
    (instance,) = platform.ps()["code-reviewer-agno"]["instances"]
    print(instance)
    assert instance["start"] == "restored"
    platform.stop(kill=True)
    platform.wait(lambda: gone(instance["pid"]), 30, f"restored copy {instance['pid']} to end")


def test_concurrency_spills_to_a_second_instance(platform_factory, model) -> None:
    platform = platform_factory(manifest("agno"), env={"OLLAMA_HOST": model.url}, window_s=30)
    model.latency_s = 1.0  # each review holds its instance for a few seconds
    answers: list[int] = []
    threads = [
        threading.Thread(target=lambda: answers.append(platform.post("/", REQUEST, HOST)[0]))
        for _ in range(2)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert answers == [200, 200]
    assert len(platform.ps()["code-reviewer-agno"]["cold_starts_s"]) == 2  # containerConcurrency 1


def test_unknown_host_is_404(platform_factory, model) -> None:
    platform = platform_factory(manifest("agno"), env={"OLLAMA_HOST": model.url})
    headers = {**HOST, "Host": "poet.default.localhost"}
    status, _, body = platform.post("/", REQUEST, headers)
    assert status == 404 and "poet" in json.loads(body)["error"]


def test_one_request_without_variant_gets_a_reply_from_each(platform_factory, model) -> None:
    platform = platform_factory(manifest("agno", "crewai"), env={"OLLAMA_HOST": model.url})
    status, _ = platform.send(
        "dev.binks.review.requested", {"repository": "sample-repo"}, binkstask="chain-1"
    )
    assert status == 202
    replies = platform.wait(
        lambda: (
            len(platform.events("dev.binks.review.completed")) == 2
            and platform.events("dev.binks.review.completed")
        ),
        timeout_s=90,
        what="both replies",
    )
    assert sorted(r["attributes"]["binksvariant"] for r in replies) == ["agno", "crewai"]
    assert {r["attributes"]["binkstask"] for r in replies} == {"chain-1"}
    assert all(r["origin"] == "reply" for r in replies)
    status, _ = platform.send(
        "dev.binks.review.requested",
        {"repository": "sample-repo"},
        binkstask="chain-2",
        binksvariant="crewai",
    )
    only = platform.wait(
        lambda: [
            r
            for r in platform.events("dev.binks.review.completed")
            if r["attributes"]["binkstask"] == "chain-2"
        ],
        timeout_s=60,
    )
    assert [r["attributes"]["binksvariant"] for r in only] == ["crewai"]


def test_a_task_runs_one_chain_per_variant_on_the_repository_manifests(platform_factory) -> None:
    """goal → orchestrator → code reviewer + cluster inspection + a Job → reporter, per variant."""
    run_team_chain(platform_factory, "process")


def test_the_chain_runs_from_snapshots_and_again_from_zero_on_restored_copies(
    platform_factory,
) -> None:
    """``binks up --start snapshot``: the first task checkpoints every function after its
    imports; with all eight at zero, the second task is served by restored copies."""
    needs_snapshots()
    run_team_chain(platform_factory, "process", start="snapshot")


@pytest.mark.process
def test_an_instance_whose_port_refuses_is_replaced_not_reused(tmp_path, model) -> None:
    """A connection refused means nothing reached the instance (a container killed under
    memory pressure can leave a closed port behind a live podman client): it is replaced
    at once, instead of failing every request held for the Service in turn."""
    import asyncio

    from localknative.manifests import load
    from localknative.serving import Serving

    (tmp_path / "all.yaml").write_text(manifest("agno"))
    services = load(tmp_path).services

    async def scenario() -> tuple[int, int, int]:
        serving = Serving(services, {"OLLAMA_HOST": model.url}, window_s=60)
        try:
            first = await serving.acquire("default", "code-reviewer-agno", 120)
            await serving.release("default", "code-reviewer-agno", first, broken=True)
            second = await serving.acquire("default", "code-reviewer-agno", 120)
            await serving.release("default", "code-reviewer-agno", second)
            state = serving.state("default", "code-reviewer-agno")
            return first.process.port, second.process.port, state.restarts
        finally:
            await serving.stop()

    first, second, restarts = asyncio.run(scenario())
    print("ports", first, second, "restarts", restarts)
    assert first != second and restarts == 1

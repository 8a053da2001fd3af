"""``binks up --runtime container``: instances from the Services' images under podman.

The unit tests need nothing. The container tests need podman and the images: ``make
test`` builds the two code-reviewer images first where podman is installed (``.ci/run``
installs it); elsewhere they are skipped with the reason, unless
``BINKS_REQUIRE_CONTAINERS=1`` (CI) makes a missing image a failure.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from localknative import cgroups, containers
from localknative.containers import container_env, job_command, resource_flags
from localknative.instances import FunctionSpec
from localknative.launch import start_platform
from localknative.manifests import load
from modelserver.scripted import ScriptedOllama, review_script
from tests.podman import image, needs

from .chain import run_team_chain
from .conftest import BROKER

REPO = Path(__file__).resolve().parents[2]
REVIEWERS = [image(f"code-reviewer-{v}") for v in ("agno", "crewai")]
EVERY_IMAGE = [
    image(f"{role}-{variant}")
    for role in ("orchestrator", "code-reviewer", "cluster-operator", "reporter")
    for variant in ("agno", "crewai")
] + [image("worker")]


def test_a_container_sees_the_services_env_with_its_own_paths() -> None:
    env = {
        "K_SERVICE": "code-reviewer-agno",
        "OLLAMA_HOST": "http://127.0.0.1:5/code-reviewer-agno",
        "BINKS_REPO_BASE": "/home/me/binks/workspace",
        "BINKS_STATE_DIR": "/home/me/binks/state/functions",
        "PATH": "/home/me/.venv/bin:/usr/bin",
        "PYTHONPATH": "/home/me/binks",
        "LD_PRELOAD": "/tmp/x.so",
        "BINKS_BIND": "0.0.0.0",
    }
    assert container_env(env) == {
        "K_SERVICE": "code-reviewer-agno",
        "OLLAMA_HOST": "http://127.0.0.1:5/code-reviewer-agno",
        "BINKS_REPO_BASE": "/workspace",
        "BINKS_STATE_DIR": "/var/lib/binks",
    }


def test_paths_that_are_not_mounted_are_left_to_the_image() -> None:
    env = {"BINKS_REPO_BASE": "/home/me/ws", "BINKS_STATE_DIR": "/home/me/state", "A": "b"}
    assert container_env(env, workspace=False, state=False) == {"A": "b"}
    assert container_env(env, workspace=True, state=False) == {
        "A": "b",
        "BINKS_REPO_BASE": "/workspace",
    }


def test_resources_become_podman_flags_as_a_kubelet_sets_cgroups() -> None:
    assert resource_flags(160 * 2**20, 250, None) == [
        "--memory",
        str(160 * 2**20),
        "--memory-swap",  # no swap: the limit is the limit, as on a node
        str(160 * 2**20),
        "--cpu-shares",
        "256",
    ]
    assert resource_flags(None, None, 1500) == ["--cpus", "1.5"]
    assert resource_flags(None, None, None) == []


def test_every_function_manifest_has_a_memory_limit_and_a_cpu_request() -> None:
    services = load(REPO / "knative" / "base").services.values()
    functions = [s for s in services if "binks-functions" in s.image]
    assert len(functions) == 8, [s.name for s in functions]
    for service in functions:
        assert service.memory_limit_bytes and service.cpu_request_millis == 250, service


def test_a_jobs_container_has_no_network_and_reads_the_workspace_only() -> None:
    env = {"BINKS_REPO_BASE": "/srv/workspace", "PATH": "/usr/bin", "PYTHONPATH": "/srv/binks"}
    command, podman_env = job_command(
        "ghcr.io/binks-functions/worker:0.1.0", ("check", "sample-repo"), env, "binks-job-x"
    )
    assert command[:2] == ["podman", "run"]
    assert command[command.index("--network") + 1] == "none"
    assert "/srv/workspace:/workspace:ro" in command
    assert command[-3:] == ["ghcr.io/binks-functions/worker:0.1.0", "check", "sample-repo"]
    # names only: the values travel in podman's environment, not on a command line
    assert [command[i + 1] for i, arg in enumerate(command) if arg == "-e"] == ["BINKS_REPO_BASE"]
    assert podman_env["BINKS_REPO_BASE"] == "/workspace"


def test_this_processes_memory_cgroup_is_readable() -> None:
    counted = cgroups.counts_of(os.getpid())
    if counted:  # every Linux with a memory controller: usage counts this very process
        assert counted["usage"] > 0 and counted["rss"] > 0, counted
    assert cgroups.counts_of(2**22 + 1) == {}


@pytest.mark.process
def test_an_image_not_built_here_is_named_with_the_command_that_builds_it(tmp_path) -> None:
    if shutil.which("podman") is None:
        pytest.skip("podman is not installed")
    manifests = tmp_path / "manifests"
    manifests.mkdir()
    text = (REPO / "knative/base/code-reviewer.yaml").read_text()
    absent = "ghcr.io/binks-functions/code-reviewer-agno:0.0.0-never-built"
    broker = BROKER.format(delivery="{}")
    (manifests / "all.yaml").write_text(broker + text.replace(REVIEWERS[0], absent))
    log = tmp_path / "platform.log"
    with log.open("wb") as out, pytest.raises(RuntimeError):
        start_platform(
            tmp_path / "state",
            "--manifests",
            str(manifests),
            "--runtime",
            "container",
            log=out.fileno(),
        )
    said = log.read_text()
    assert f"image(s) not built here: {absent}" in said, said
    assert "make images PLATFORMS=linux/" in said and 'ONLY="code-reviewer-agno"' in said, said


@pytest.mark.process
def test_each_variants_image_answers_an_event_under_its_memory_limit(platform_factory) -> None:
    """The bounded container test: both code-reviewer images, one event each through
    the platform, the replies, and the manifests' memory limits on the containers."""
    needs(REVIEWERS)
    manifest = BROKER.format(delivery="{}") + (REPO / "knative/base/code-reviewer.yaml").read_text()
    limits = {s.name: s.memory_limit_bytes for s in load(REPO / "knative/base").services.values()}
    answer = {"summary": "scripted", "findings": []}
    with ScriptedOllama(review_script(answer)) as model:
        env = {"OLLAMA_HOST": model.url_per_service}
        platform = platform_factory(manifest, env=env, window_s=120, runtime="container")
        status, _ = platform.send("dev.binks.review.requested", {"repository": "sample-repo"})
        assert status == 202
        replies = platform.wait(
            lambda: len(r := platform.events("dev.binks.review.completed")) == 2 and r,
            timeout_s=180,
            what="a reply from each variant's container",
        )
        assert sorted(r["attributes"]["binksvariant"] for r in replies) == ["agno", "crewai"]
        for reply in replies:
            assert json.loads(reply["data"])["summary"] == "scripted", reply
        rows = platform.ps()
        for variant in ("agno", "crewai"):
            name = f"code-reviewer-{variant}"
            (instance,) = rows[name]["instances"]
            assert rows[name]["runtime"] == "container"
            limit_mib = limits[name] / 2**20
            print(name, instance)
            assert instance["memory_limit_mib"] == limit_mib, (name, instance, limit_mib)
            assert 0 < instance["memory_mib"] < limit_mib, (name, instance)
        state = platform.state / "containers" / "functions"
        assert any(state.iterdir()), "the functions' state (idempotency store) is kept"
        platform.stop()  # SIGTERM: each container drains, exits and is removed
    assert labelled(str(state)) == [], "containers left behind"


def labelled(owner: str) -> list[str]:
    """The containers a platform with state ``owner`` started that still exist."""
    listed = subprocess.run(
        ["podman", "ps", "-a", "--filter", f"label={containers.LABEL}={owner}", "-q"],
        capture_output=True,
        text=True,
        check=True,
    )
    return listed.stdout.split()


@pytest.mark.process
def test_the_four_role_chain_runs_in_containers(platform_factory) -> None:
    """The whole chain, both variants, every Service and the Job from their images
    (skipped unless all nine images are built: ``make images``)."""
    needs(EVERY_IMAGE, optional=True)
    run_team_chain(platform_factory, "container")


@pytest.mark.process
def test_a_container_the_kernel_killed_stops_with_its_own_exit_status(tmp_path) -> None:
    """SIGKILL to the container's process, as the OOM killer sends it: ``stop`` reports
    137 from podman's client, not the SIGTERM it would send a client still removing the
    container (the bench counts OOM kills by that status)."""
    needs(REVIEWERS[:1])
    spec = FunctionSpec("code_reviewer", "agno")
    instance = containers.FunctionContainer(
        spec, REVIEWERS[0], state_dir=tmp_path / "state", owner=str(tmp_path)
    )
    instance.start()
    try:
        instance.wait_ready(timeout_s=120)
        (pid,) = instance.pids()
        os.kill(pid, 9)
        deadline = time.monotonic() + 30
        while instance.running() and time.monotonic() < deadline:  # reaped by conmon
            time.sleep(0.01)
        assert not instance.running(), f"container process {pid} still there after SIGKILL"
        status = instance.stop(timeout_s=1)
    finally:
        instance.stop(timeout_s=10)
    print("exit status:", status)
    assert status == 137
    assert labelled(str(tmp_path)) == [], "containers left behind"

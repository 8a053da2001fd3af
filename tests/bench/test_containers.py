"""bench.containers: a function's cold start in its image under podman, what its cgroup
counts, and what the container adds over the process. The container tests need podman
and the images (skipped with the reason otherwise; ``BINKS_REQUIRE_CONTAINERS=1`` fails)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from bench import containers as bench_containers
from bench import suite
from localknative.containers import LABEL, ContainerError, FunctionContainer
from localknative.instances import FunctionSpec
from tests.podman import image, needs

from .synthetic import document


def _labelled(label: str) -> list[str]:
    listed = subprocess.run(
        ["podman", "ps", "-aq", "--filter", f"label={LABEL}={label}"],
        capture_output=True,
        text=True,
        check=True,
    )
    return listed.stdout.split()


def test_the_overhead_is_container_minus_process_of_the_medians() -> None:
    doc = document()
    overhead = bench_containers.overhead(doc["functions"], doc["containers"])
    row = overhead["code-reviewer-crewai"]["idle_usage_vs_rss_mib"]
    print(row)
    # the container's idle cgroup usage (144 MiB) against the process's idle RSS (160 MiB)
    assert (row["container"], row["process"], row["added"]) == (144, 160, -16)
    assert "cgroup usage" in row["compares"] and "process's RSS" in row["compares"]
    assert set(overhead["code-reviewer-agno"]) == set(bench_containers.COMPARED)


def test_a_figure_only_one_side_has_is_left_out() -> None:
    processes = {
        "f-agno": {"summary": suite.summarise({"spawn": [{"ready_s": 1.0}], "events": []})}
    }
    boxed = {"f-agno": {"summary": {"ready_s": {"median": 1.5}, "idle_usage_mib": {"median": 9}}}}
    overhead = bench_containers.overhead(processes, boxed)
    assert list(overhead["f-agno"]) == ["ready_s"]
    assert overhead["f-agno"]["ready_s"]["added"] == 0.5


def test_this_processes_cgroup_cpu_time_is_readable() -> None:
    seconds = bench_containers.cgroup_cpu_seconds(os.getpid())
    print(f"this test's cgroup has used {seconds} CPU s")
    if Path("/sys/fs/cgroup/cpuacct").is_dir() or Path("/sys/fs/cgroup/cpu.stat").exists():
        assert seconds is not None and seconds > 0
    assert bench_containers.cgroup_cpu_seconds(2**22 + 1) is None  # no such process


def test_every_function_manifest_names_its_image_and_limits() -> None:
    services = bench_containers.services()
    for role in suite.ROLES:
        for variant in ("agno", "crewai"):
            service = FunctionSpec(role, variant).service
            settings = bench_containers.settings(services[service])
            print(service, settings)
            assert settings["image"] == image(service)
            assert settings["memory_limit_mib"] and settings["cpu_request_millis"]


def test_a_missing_image_is_named_with_the_command_that_builds_it() -> None:
    needs([])  # podman only
    with pytest.raises(ContainerError, match=r"make images PLATFORMS=linux/\w+ ONLY=\"nope\""):
        bench_containers.require_images(["ghcr.io/binks-functions/nope:0.0.0"])


@pytest.mark.process
@pytest.mark.parametrize("variant", ["agno", "crewai"])
def test_a_cold_start_in_a_container(tmp_path: Path, variant: str) -> None:
    spec = FunctionSpec("code_reviewer", variant)
    needs([image(spec.service)])
    service = bench_containers.services()[spec.service]
    label = bench_containers.owner()
    with bench_containers.cleanup(label):
        sample = bench_containers.spawn_sample(
            spec, {"OLLAMA_HOST": "http://127.0.0.1:9"}, service, tmp_path / "state", label
        )
    print(spec.service, sample, "limit MiB", service.memory_limit_bytes / 2**20)
    assert set(sample) == {"ready_s", "cpu_s", "idle_usage_mib", "idle_rss_mib", "idle_cache_mib"}
    assert sample["cpu_s"] > 0  # the imports ran in the container's cgroup
    # usage counts rss and the page cache charged to the group, under the manifest's limit
    assert 0 < sample["idle_rss_mib"] <= sample["idle_usage_mib"]
    assert sample["idle_usage_mib"] <= service.memory_limit_bytes / 2**20
    assert _labelled(label) == []


@pytest.mark.process
def test_a_failed_run_leaves_no_container(tmp_path: Path) -> None:
    spec = FunctionSpec("code_reviewer", "agno")
    needs([image(spec.service)])
    label = bench_containers.owner()
    instance = FunctionContainer(spec, image(spec.service), owner=label, state_dir=tmp_path)

    def measure_and_fail() -> None:
        with bench_containers.cleanup(label):
            instance.start()
            instance.wait_ready()  # created: podman lists it by its label now
            print("running:", _labelled(label))
            assert _labelled(label), "the container should be listed while it runs"
            raise RuntimeError("a measurement failed")

    with pytest.raises(RuntimeError, match="a measurement failed"):
        measure_and_fail()
    print("left after the failure:", _labelled(label))
    assert _labelled(label) == []
    instance.stop(timeout_s=30)  # its podman client ended with the container
    assert not instance.running()

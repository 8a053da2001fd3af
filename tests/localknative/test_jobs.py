"""Jobs on the local platform: one-shot processes that keep a Job's bounds, started
only from images the platform knows, with an environment the Job cannot steer."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from localknative import jobs as local_jobs
from localknative.jobs import JOB_PATH, REFUSED_ENV, JobError, Jobs, LocalImage, command_for_image
from localknative.paths import REPO, WORKSPACE

pytestmark = pytest.mark.process

WORKER = "ghcr.io/binks-functions/worker"
DIGEST = "sha256:" + "0123456789abcdef" * 4
# what the OS or the interpreter may add on its own: the C locale's coercion (PEP 538)
# where C.UTF-8 is missing, and macOS's text encoding
OS_ADDED = {"LC_CTYPE", "__CF_USER_TEXT_ENCODING"}
# prints the process's whole environment; it declares that it reads BINKS_GREETING
STEERS = "it steers an interpreter, the dynamic loader, libc or a shell"
REDIRECTS = "it redirects network or TLS"
PLATFORMS = "the platform sets it"
ENV_DUMP = LocalImage(
    ("-c", "import json, os; print(json.dumps(dict(os.environ)))"),
    env=frozenset({"BINKS_GREETING"}),
)


def manifest(name: str, image: str, args: list | None = None, env=None, **spec) -> dict:
    container: dict = {"name": "worker", "image": image, "args": args or []}
    if env is not None:
        container["env"] = env
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": name},
        "spec": {"template": {"spec": {"containers": [container]}}, **spec},
    }


async def finished(jobs: Jobs, name: str, timeout_s: float = 30, namespace="default") -> dict:
    async with asyncio.timeout(timeout_s):
        while True:
            status = jobs.get(namespace, name).status()
            if status["conditions"]:
                return status
            await asyncio.sleep(0.05)


def refused(jobs: Jobs, body: object, namespace: str = "default") -> JobError:
    """Create a Job that must be refused, in a running loop (as the server does)."""

    async def scenario() -> None:
        jobs.create(namespace, body)

    with pytest.raises(JobError) as problem:
        asyncio.run(scenario())
    return problem.value


def test_the_worker_image_runs_the_repository_check(tmp_path: Path) -> None:
    async def scenario() -> tuple[dict, str]:
        jobs = Jobs(tmp_path, {"BINKS_REPO_BASE": str(WORKSPACE)})
        image = f"{WORKER}:0.1.0"
        jobs.create("default", manifest("check", image, ["check", "sample-repo"]))
        with pytest.raises(JobError) as again:
            jobs.create("default", manifest("check", image, []))
        assert again.value.status == 409
        status = await finished(jobs, "check")
        return status, jobs.logs("default", "check", 10)

    status, logs = asyncio.run(scenario())
    assert status["succeeded"] == 1 and status["conditions"][0]["type"] == "Complete"
    result = json.loads(logs)
    assert result["files"] >= 2 and result["syntax_errors"] == []


def test_the_deadline_kills_the_process_and_fails_the_job(tmp_path, monkeypatch) -> None:
    sleeper = LocalImage(("-c", "import time; time.sleep(60)"))
    monkeypatch.setitem(local_jobs.LOCAL_IMAGES, "sleeper", sleeper)

    async def scenario() -> dict:
        jobs = Jobs(tmp_path, {})
        jobs.create("default", manifest("slow", "sleeper", [], activeDeadlineSeconds=1))
        return await finished(jobs, "slow", timeout_s=20)

    status = asyncio.run(scenario())
    assert status["failed"] == 1 and status["conditions"][0]["reason"] == "DeadlineExceeded"


def test_a_failing_pod_is_retried_up_to_the_backoff_limit(tmp_path, monkeypatch) -> None:
    monkeypatch.setitem(
        local_jobs.LOCAL_IMAGES, "failer", LocalImage(("-c", "raise SystemExit(3)"))
    )

    async def scenario() -> dict:
        jobs = Jobs(tmp_path, {})
        jobs.create("default", manifest("bad", "failer", [], backoffLimit=1))
        return await finished(jobs, "bad")

    status = asyncio.run(scenario())
    assert status["failed"] == 2 and status["conditions"][0]["reason"] == "BackoffLimitExceeded"


def test_the_process_gets_only_the_fixed_platform_and_allowed_variables(
    tmp_path, monkeypatch
) -> None:
    monkeypatch.setitem(local_jobs.LOCAL_IMAGES, "envdump", ENV_DUMP)
    monkeypatch.setenv("BINKS_TEST_SECRET", "hunter2")  # the platform's own environment
    monkeypatch.setenv("PYTHONWARNINGS", "error")
    platform = {
        "BINKS_REPO_BASE": str(tmp_path),
        "BINKS_STATE_DIR": str(tmp_path / "state"),
        "K_SINK": "http://broker",
        "TOKEN": "s3cret",
    }

    async def scenario() -> dict:
        jobs = Jobs(tmp_path / "logs", platform)
        greeting = [{"name": "BINKS_GREETING", "value": "hello; $(id)"}]
        jobs.create("default", manifest("dump", "envdump", env=greeting))
        assert (await finished(jobs, "dump"))["succeeded"] == 1
        return json.loads(jobs.logs("default", "dump", 1))

    env = asyncio.run(scenario())
    expected = {
        "BINKS_GREETING": "hello; $(id)",  # as given: no shell ever reads it
        "BINKS_REPO_BASE": str(tmp_path),
        "BINKS_STATE_DIR": str(tmp_path / "state"),
        "PATH": JOB_PATH,
        "LANG": "C.UTF-8",
        "PYTHONPATH": str(REPO),
    }
    assert {name: env.get(name) for name in expected} == expected
    assert set(env) - set(expected) - OS_ADDED == set()


def test_jobs_whose_namespace_and_name_join_alike_keep_their_own_logs(tmp_path, monkeypatch):
    echo = LocalImage(("-c", "import sys; print(sys.argv[1])"))
    monkeypatch.setitem(local_jobs.LOCAL_IMAGES, "echo", echo)

    async def scenario() -> list[str]:
        jobs = Jobs(tmp_path, {})
        for namespace, name in (("a-b", "c"), ("a", "b-c")):
            jobs.create(namespace, manifest(name, "echo", [f"{namespace}/{name}"]))
        for namespace, name in (("a-b", "c"), ("a", "b-c")):
            await finished(jobs, name, namespace=namespace)
        return [jobs.logs("a-b", "c", 10), jobs.logs("a", "b-c", 10)]

    assert asyncio.run(scenario()) == ["a-b/c\n", "a/b-c\n"]


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("PYTHONWARNINGS", STEERS),
        ("PYTHONSTARTUP", STEERS),
        ("PYTHONPATH", STEERS),
        ("BASH_ENV", STEERS),
        ("LD_PRELOAD", STEERS),
        ("BROWSER", STEERS),
        ("PATH", STEERS),
        ("https_proxy", REDIRECTS),
        ("BINKS_REPO_BASE", PLATFORMS),
        ("K_SINK", PLATFORMS),
        ("BINKS_STATE_DIR", PLATFORMS),
        ("HARMLESS", "image ghcr.io/binks-functions/worker reads only: none"),
    ],
)
def test_a_job_setting_a_variable_off_the_allow_list_never_starts(tmp_path, name, reason):
    jobs = Jobs(tmp_path, {"BINKS_REPO_BASE": str(REPO)})
    env = [{"name": name, "value": "import os; os.system('touch /tmp/pwned')"}]
    problem = refused(jobs, manifest("check", WORKER, ["check", "."], env=env))
    assert (problem.status, problem.reason) == (422, f"env refused: {name} ({reason})")
    assert (jobs.jobs, jobs._tasks, list(tmp_path.iterdir())) == ({}, set(), [])


def test_refused_names_are_refused_even_where_an_image_declares_them(tmp_path, monkeypatch):
    careless = LocalImage(("-c", "pass"), env=frozenset({"LD_PRELOAD", "NODE_OPTIONS", "FINE"}))
    monkeypatch.setitem(local_jobs.LOCAL_IMAGES, "careless", careless)
    env = [{"name": n, "value": "x"} for n in ("LD_PRELOAD", "NODE_OPTIONS", "FINE", "OTHER")]
    problem = refused(Jobs(tmp_path, {}), manifest("c", "careless", env=env))
    assert problem.reason == (  # every offending name, FINE (declared, harmless) not among them
        f"env refused: LD_PRELOAD ({STEERS}); NODE_OPTIONS ({STEERS}); "
        "OTHER (image careless reads only: FINE, LD_PRELOAD, NODE_OPTIONS)"
    )


def test_no_local_image_declares_a_refused_variable() -> None:
    declared = {(repo, n) for repo, image in local_jobs.LOCAL_IMAGES.items() for n in image.env}
    clashes = {(r, n) for r, n in declared if any(p.fullmatch(n) for p in REFUSED_ENV.values())}
    assert clashes == set()


BIG = "x" * 4097
ENV_CASES = [
    ("not a list", {"BINKS_GREETING": "hi"}, 400, "env must be a list"),
    ("no name", [{"value": "hi"}], 400, "each env entry needs a string name"),
    ("bad name", [{"name": "A-B", "value": "hi"}], 422, "env name 'A-B' is not"),
    ("digit first", [{"name": "1A", "value": "hi"}], 422, "env name '1A' is not"),
    ("equals", [{"name": "A=B", "value": "hi"}], 422, "env name 'A=B' is not"),
    ("number", [{"name": "BINKS_GREETING", "value": 3}], 400, "value must be a string, not int"),
    (
        "valueFrom",
        [{"name": "BINKS_GREETING", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}}],
        422,
        "env BINKS_GREETING: valueFrom is not supported locally",
    ),
    (
        "twice",
        [{"name": "BINKS_GREETING", "value": "a"}, {"name": "BINKS_GREETING", "value": "b"}],
        422,
        "env BINKS_GREETING is given twice",
    ),
    ("huge", [{"name": "BINKS_GREETING", "value": BIG}], 422, "is 4097 bytes; at most 4096"),
    ("NUL", [{"name": "BINKS_GREETING", "value": "a\0b"}], 422, "contains a NUL character"),
    ("surrogate", [{"name": "BINKS_GREETING", "value": "\ud800"}], 422, "not valid Unicode"),
    ("too many", [{"name": f"V{i}", "value": ""} for i in range(33)], 422, "at most 32"),
    (
        "total",
        [{"name": f"V{i}", "value": "x" * 4000} for i in range(9)],
        422,
        "bytes in all; at most 32768",
    ),
]


@pytest.mark.parametrize(
    ("env", "status", "reason"), [c[1:] for c in ENV_CASES], ids=[c[0] for c in ENV_CASES]
)
def test_a_malformed_or_oversized_env_is_refused_with_the_reason(
    tmp_path, monkeypatch, env, status, reason
):
    monkeypatch.setitem(local_jobs.LOCAL_IMAGES, "envdump", ENV_DUMP)
    jobs = Jobs(tmp_path, {})
    problem = refused(jobs, manifest("dump", "envdump", env=env))
    assert (problem.status, reason in problem.reason) == (status, True), problem.reason
    assert (jobs.jobs, list(tmp_path.iterdir())) == ({}, [])


@pytest.mark.parametrize(
    ("change", "status", "reason"),
    [
        ({"args": "check ."}, 400, "args must be a list of strings"),
        ({"args": ["check", 1]}, 400, "args must be a list of strings"),
        ({"args": ["a"] * 65}, 422, "args has 65 items; at most 64"),
        ({"args": ["x" * 4097]}, 422, "an argument is 4097 bytes; at most 4096"),
        ({"args": ["x" * 4000] * 9}, 422, "args are 36000 bytes in all; at most 32768"),
        ({"args": ["check", "a\0b"]}, 422, "args[1] contains a NUL character"),
        ({"command": ["sh", "-c", "id"]}, 422, "container.command is not supported locally"),
        (
            {"envFrom": [{"secretRef": {"name": "s"}}]},
            422,
            "container.envFrom is not supported locally",
        ),
    ],
)
def test_oversized_args_and_unsupported_fields_are_refused(tmp_path, change, status, reason):
    body = manifest("check", WORKER)
    body["spec"]["template"]["spec"]["containers"][0].update(change)
    jobs = Jobs(tmp_path, {})
    problem = refused(jobs, body)
    assert (problem.status, problem.reason) == (status, reason)
    assert (jobs.jobs, list(tmp_path.iterdir())) == ({}, [])


@pytest.mark.parametrize(
    ("body", "namespace", "status", "reason"),
    [
        ({"kind": "Pod"}, "default", 400, "expected apiVersion batch/v1"),
        (
            {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "x"}},
            "default",
            400,
            "a Job needs",
        ),
        (manifest("x", "docker.io/library/busybox", ["sh"]), "default", 422, "no local stand-in"),
        (manifest("../../x", WORKER), "default", 422, "metadata.name '../../x' is not a DNS-1123"),
        (manifest("x", WORKER), "..", 422, "namespace '..' is not a DNS-1123 label"),
        (
            manifest("x", WORKER, backoffLimit="6"),
            "default",
            400,
            "backoffLimit must be an integer",
        ),
        (manifest("x", WORKER, activeDeadlineSeconds=0), "default", 422, "activeDeadlineSeconds"),
        (manifest("x", WORKER, ttlSecondsAfterFinished=-1), "default", 422, "must be from 0"),
    ],
)
def test_jobs_the_platform_cannot_run_are_refused_with_the_reason(
    tmp_path, body, namespace, status, reason
) -> None:
    problem = refused(Jobs(tmp_path, {}), body, namespace)
    assert (problem.status, reason in problem.reason) == (status, True), problem.reason


@pytest.mark.parametrize(
    "image", [WORKER, f"{WORKER}:0.1.0", f"{WORKER}@{DIGEST}", f"{WORKER}:0.1.0@{DIGEST}"]
)
def test_the_worker_repository_with_any_tag_or_digest_runs_the_worker(image: str) -> None:
    assert command_for_image(image)[1:] == ["-m", "functions.worker"]


@pytest.mark.parametrize(
    "image",
    [
        "worker",
        "evil.example/worker",
        "evil.example/ghcr.io/binks-functions/worker",
        f"{WORKER}-evil",
        f"{WORKER}z",
        f"{WORKER}/extra",
        f"{WORKER}/../x",
        f"{WORKER}:tag:more",
        f"{WORKER}@sha256:abc",
        "GHCR.IO/binks-functions/worker",
        "ghcr.io/binks-functions/Worker",
        f" {WORKER}",
        "",
    ],
)
def test_only_the_exact_repository_has_a_local_command(image: str) -> None:
    with pytest.raises(JobError) as problem:
        command_for_image(image)
    assert problem.value.status == 422 and "has no local stand-in" in problem.value.reason

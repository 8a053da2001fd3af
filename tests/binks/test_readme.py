"""Every local command of the README runs as shown, against a real platform serving all
eight functions from ``knative/base`` with the scripted model (the demo's canned team).

The commands are the lines of the README's ``sh`` blocks that start with
``.venv/bin/binks`` or ``curl`` (continued lines joined), run by bash from the
repository root. Two substitutions, because a test may not take a fixed port: the CLI
finds the platform through ``BINKS_PLATFORM`` and ``BINKS_STATE`` (as the README says),
and a fixed port in a command (``localhost:8470``, ``binks serve --port 8080``) becomes
the port the kernel chose. Every other line of a local block is named in
:data:`NOT_RUN` with the reason, so a new command cannot slip by untested.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from localknative.launch import RunningPlatform, start_platform
from modelserver.sample_answers import sample_team
from modelserver.scripted import ScriptedOllama

pytestmark = pytest.mark.process

REPO = Path(__file__).resolve().parents[2]
#: Commands of the local blocks that this test does not run, and why.
NOT_RUN = {
    ".venv/bin/binks up": "the fixture starts what it runs (python -m localknative) on port 0",
    "kn func invoke": "kn is not installed here; `binks invoke` is its local twin",
}
#: A block with one of these is the cluster's (no cluster here) or the two make commands
#: (``make test`` is this suite; the demo test runs what ``make run`` runs).
NOT_LOCAL = ("kubectl", "kn event send", "make run", "make images")


def commands(readme: str) -> list[list[str]]:
    """The commands of each local ``sh`` block, continuation lines joined."""
    blocks = re.findall(r"```sh\n(.*?)```", readme, re.DOTALL)
    local = []
    for block in blocks:
        if any(word in block for word in NOT_LOCAL):
            continue
        joined = re.sub(r"\\\n\s*", "", block)
        lines = [line.strip() for line in joined.splitlines()]
        local.append([line for line in lines if line and not line.startswith("#")])
    return local


def not_run(command: str) -> bool:
    return any(command.startswith(prefix) for prefix in NOT_RUN)


@pytest.fixture(scope="module")
def model() -> Iterator[ScriptedOllama]:
    with ScriptedOllama(sample_team()) as scripted:
        yield scripted


@pytest.fixture(scope="module")
def platform(
    model: ScriptedOllama, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningPlatform]:
    state = tmp_path_factory.mktemp("readme") / "state"
    env = {
        "OLLAMA_HOST": model.url_per_service,
        "BINKS_CLUSTER": "local",
        "BINKS_ALLOWED_NAMESPACES": "default",
    }
    log = state.parent / "platform.log"
    with log.open("ab") as out:
        running = start_platform(state, env=env, log=out.fileno())
    try:
        yield running
    finally:
        running.stop(60)


def run(command: str, env: dict[str, str], timeout_s: float = 300) -> str:
    done = subprocess.run(
        ["bash", "-c", command],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout_s,
    )
    shown = f"$ {command}\n--- rc {done.returncode}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    assert done.returncode == 0, shown
    if command.startswith("curl"):
        assert re.search(r"^HTTP/1\.1 2\d\d", done.stdout, re.M) or done.stdout.startswith("{"), (
            shown
        )
    return done.stdout


def test_the_readme_has_local_commands_and_names_each_one_it_does_not_run() -> None:
    blocks = commands((REPO / "README.md").read_text())
    every = [command for block in blocks for command in block]
    runnable = [c for c in every if c.startswith((".venv/bin/binks", "curl")) and not not_run(c)]
    others = [c for c in every if not c.startswith((".venv/bin/binks", "curl")) or not_run(c)]
    assert len(runnable) >= 12, runnable
    assert all(not_run(c) for c in others), others


def test_every_local_command_of_the_readme_runs_as_shown(
    platform: RunningPlatform, model: ScriptedOllama
) -> None:
    env = {**os.environ, "BINKS_PLATFORM": platform.url, "BINKS_STATE": str(platform.state)}
    env.pop("BINKS_PLATFORM_TOKEN", None)
    port = platform.url.rsplit(":", 1)[-1]
    ran = []
    for block in commands((REPO / "README.md").read_text()):
        served = None
        try:
            for command in block:
                if not_run(command):
                    continue
                if " serve " in command:
                    served = serve(command, model)
                    continue
                command = command.replace("localhost:8470", f"localhost:{port}")
                if served:
                    command = command.replace("localhost:8080", f"localhost:{served[1]}")
                out = run(command, env)
                ran.append(command)
                if "report.published --count 2" in command:
                    assert out.count("# Report:") == 2, out[-3000:]
        finally:
            if served:
                served[0].terminate()
                served[0].wait(60)
                served[0].stdout.close()
    assert len(ran) >= 12, ran


def serve(command: str, model: ScriptedOllama) -> tuple[subprocess.Popen[str], int]:
    """``binks serve ... --port 8080 &`` on port 0; (the process, the port it printed)."""
    argv = command.split("#")[0].strip().rstrip("&").split()
    argv[argv.index("--port") + 1] = "0"
    service = f"{argv[2]}-{argv[3]}"
    env = {**os.environ, "OLLAMA_HOST": model.url_for(service)}
    process = subprocess.Popen(argv, cwd=REPO, env=env, stdout=subprocess.PIPE, text=True)
    first = process.stdout.readline()  # printed once the socket is bound
    found = re.search(r"127\.0\.0\.1:(\d+)", first)
    assert found, first
    return process, int(found.group(1))

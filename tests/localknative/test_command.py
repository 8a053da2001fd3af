"""The platform's own command line (``python -m localknative``): its options, the model
settings it hands the functions, one line and status 2 for a failed start."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

import pytest

from localknative import command
from localknative.paths import MANIFESTS, REPO, STATE


def parse(*argv: str) -> argparse.Namespace:
    return command.add_arguments(argparse.ArgumentParser()).parse_args(list(argv))


def test_defaults() -> None:
    args = parse()
    assert (args.port, args.host, args.domain, args.window) == (8470, "127.0.0.1", [], None)
    assert (Path(args.manifests), Path(args.state), args.model) == (MANIFESTS, STATE, "auto")


def test_options() -> None:
    args = parse("--port", "0", "--domain", "a.test", "--domain", "b.test", "--window", "2")
    assert (args.port, args.domain, args.window) == (0, ["a.test", "b.test"], 2.0)
    with pytest.raises(SystemExit):
        parse("--model", "gpt")


def test_model_none_passes_the_model_settings_through(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OLLAMA_HOST", "http://127.0.0.1:9/$(K_SERVICE)")
    monkeypatch.setenv("BINKS_MODEL", "qwen2.5-coder:7b")
    monkeypatch.setenv("BINKS_CLUSTER", "local")  # not a model setting
    env, started = command.model_env("none")
    assert started is None
    assert env == {
        "OLLAMA_HOST": "http://127.0.0.1:9/$(K_SERVICE)",
        "BINKS_MODEL": "qwen2.5-coder:7b",
    }


def run_platform(*argv: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """``python -m localknative ARGV --model none`` to its end (a start that fails)."""
    return subprocess.run(
        [sys.executable, "-m", "localknative", *argv, "--model", "none"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **(env or {})},
    )


def test_a_failed_start_is_one_line_and_status_2(tmp_path: Path) -> None:
    argv = ["--manifests", str(tmp_path / "none"), "--state", str(tmp_path / "s"), "--port", "0"]
    done = run_platform(*argv)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        f"localknative: error: {tmp_path / 'none'} is not a directory of manifests"
    ]


@pytest.mark.parametrize(
    ("extra", "env", "said"),
    [
        (["--runtime", "container"], {}, "--start snapshot works with --runtime process only"),
        ([], {"BINKS_CRIU": "/nonexistent/criu"}, "make criu"),
    ],
)
def test_snapshot_start_that_cannot_work_says_why_before_starting_anything(
    tmp_path: Path, extra: list[str], env: dict[str, str], said: str
) -> None:
    """No CRIU (or the container runtime): one line naming what to do, status 2, nothing
    started (the state directory is not even created)."""
    argv = ["--state", str(tmp_path / "s"), "--port", "0", "--start", "snapshot", *extra]
    done = run_platform(*argv, env=env)
    print(done.stderr)
    assert done.returncode == 2
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith("localknative: error: ") and said in line
    if os.geteuid() != 0 and not extra:  # not root: that is said first
        assert "root" in line
    assert not (tmp_path / "s").exists()

"""envs/images/build.py as `make images` runs it: a script, with the machine's python3
(standard library only), that stops on a failed step with one line naming it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
BUILD = REPO / "envs" / "images" / "build.py"


def _build(*args: str) -> subprocess.CompletedProcess[str]:
    # -I -S: no site-packages, no PYTHONPATH, no current directory: the standard library
    # and what build.py puts on the path itself
    return subprocess.run(
        [sys.executable, "-I", "-S", str(BUILD), *args],
        capture_output=True,
        text=True,
        cwd="/",
        timeout=60,
    )


def test_the_script_runs_with_the_standard_library_only() -> None:
    done = _build("--help")
    assert done.returncode == 0, done.stderr
    assert "Build, check and measure the images of Binks Functions" in done.stdout
    assert "{images,sizes,tools}" in done.stdout


def test_a_failed_step_is_one_line_and_exit_1() -> None:
    done = _build("images", "--only", "nope", "--platforms", "linux/amd64")
    assert done.returncode == 1, done.stderr
    assert done.stdout.startswith("!!! arguments failed: no image named ['nope']")
    done = _build("sizes", "--platforms", "linux/s390x")
    assert done.returncode == 1
    assert "platform linux/s390x" in done.stdout

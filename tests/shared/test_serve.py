"""``python -m shared.runtime.serve``: a SIGTERM while the app is still loading ends the
start at once with exit 0 (as PID 1 in a container, an unhandled SIGTERM is ignored)."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).parents[2]
LOADING = """
import sys
def create_app():
    print("loading", flush=True)
    sys.stdin.readline()  # blocks: the app never finishes loading
"""


@pytest.mark.process
def test_sigterm_while_the_app_loads_exits_0(tmp_path: Path) -> None:
    (tmp_path / "slow_app.py").write_text(LOADING)
    command = [sys.executable, "-m", "shared.runtime.serve", "slow_app:create_app"]
    env = {"PYTHONPATH": f"{REPO}:{tmp_path}", "PORT": "0"}
    with subprocess.Popen(
        command, cwd=REPO, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    ) as server:
        assert server.stdout.readline().strip() == "loading"  # inside the app's factory
        server.send_signal(signal.SIGTERM)
        code = server.wait(20)
    assert code == 0, code


def test_an_app_spec_names_the_role_and_the_variant() -> None:
    from shared.runtime.serve import load_app

    with pytest.raises(ValueError, match="role@variant or module:factory"):
        load_app("nonsense")

"""envs/images/steps.py: a step's log, time and failure, and the JSON files it keeps."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from envs.images import steps


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The build's cache, logs and timings of this test only."""
    monkeypatch.setattr(steps, "CACHE", tmp_path)
    monkeypatch.setattr(steps, "LOGS", tmp_path / "logs")
    monkeypatch.setattr(steps, "TIMINGS", {})
    return tmp_path


def test_sizes_merge_into_one_json_file(tmp_path: Path) -> None:
    path = tmp_path / "sizes.json"
    entry = {
        "uncompressed": 3,
        "gzip": 2,
        "zstd": 1,
        "layers": {"base": 1, "dependencies": 1, "code": 1},
    }
    steps.update_json(path, {"img:1": {"amd64": entry}})
    steps.update_json(path, {"img:1": {"arm64": entry}})
    assert json.loads(path.read_text()) == {"img:1": {"amd64": entry, "arm64": entry}}
    path.write_text("not JSON")
    assert steps.read_json(path) == {}
    assert steps.read_json(tmp_path / "missing.json") == {}


def test_a_failed_command_names_its_step_and_shows_its_log(cache: Path) -> None:
    script = "import sys; print('out'); print('the reason', file=sys.stderr); sys.exit(3)"
    with pytest.raises(steps.StepFailed) as failure:
        steps.run([sys.executable, "-c", script], "worker amd64: build")
    assert failure.value.what == "worker amd64: build"
    assert "exit 3" in failure.value.detail and "the reason" in failure.value.detail
    log = cache / "logs" / "worker_amd64_build.log"
    assert "the reason" in log.read_text() and "out" in log.read_text()
    with pytest.raises(steps.StepFailed, match="is not installed"):
        steps.run(["/nonexistent/tool"], "tools")


def test_a_step_is_timed_and_any_error_in_it_names_it(
    cache: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with steps.Step("base amd64: probe python", "a note"):
        pass
    assert "base amd64: probe python" in steps.TIMINGS
    assert "a note" in capsys.readouterr().out
    with pytest.raises(steps.StepFailed) as failure, steps.Step("reporter-agno arm64: smoke"):
        raise KeyError("ready_s")
    assert failure.value.what == "reporter-agno arm64: smoke"
    assert "KeyError" in failure.value.detail
    steps.write_timings(12.34)
    timings = json.loads((cache / "timings.json").read_text())
    assert timings == {
        "base amd64: probe python": timings["base amd64: probe python"],
        "total": 12.3,
    }

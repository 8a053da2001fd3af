"""The repository check (``python -m functions.worker``) reads within its bounds."""

from __future__ import annotations

import json
import tracemalloc
from pathlib import Path

import pytest

import functions.worker.__main__ as worker
from functions.code_reviewer.tools import MAX_FILE_BYTES

HUGE = 300 * 2**20


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    (root / "pkg").mkdir(parents=True)
    (root / "pkg" / "ok.py").write_text("import os\n\nprint(os.getcwd())\n")
    (root / "pkg" / "bad.py").write_text("def broken(:\n")
    (root / "README.md").write_text("# demo\n")
    for hidden in (".git/hooks.py", ".venv-x/lib.py", "node_modules/m.py", "state/s.py"):
        (root / hidden).parent.mkdir(parents=True)
        (root / hidden).write_text("this is not python (\n")
    return root


def test_the_check_reports_syntax_errors_outside_skipped_directories(repo: Path) -> None:
    result = worker.check(repo, exclude=(repo / "state",))
    assert result["syntax_errors"] == [
        {"path": "pkg/bad.py", "line": 1, "message": "invalid syntax"}
    ], result
    assert (result["files"], result["python_lines"], result["truncated"]) == (3, 4, False)
    assert result["skipped"] == {"directories": 4, "partly_read": 0, "unread": 0, "binary": 0}


def test_a_huge_python_file_is_read_only_in_part_and_not_parsed(repo: Path) -> None:
    with (repo / "huge.py").open("w") as stream:
        stream.write("x = 1\n" * 50_000)  # 300,000 bytes of text, then sparse
        stream.truncate(HUGE)
    (repo / "nul.py").write_bytes(b"x = 1\x00\n")
    tracemalloc.start()
    try:
        result = worker.check(repo, exclude=(repo / "state",))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 64 * MAX_FILE_BYTES, f"check peak {peak} bytes with a {HUGE}-byte file"
    assert result["truncated"] and result["skipped"]["partly_read"] == 1, result
    assert result["skipped"]["binary"] == 1, result
    assert [error["path"] for error in result["syntax_errors"]] == ["pkg/bad.py"]
    assert result["python_lines"] == 4 + MAX_FILE_BYTES // len("x = 1\n") + 1


def test_the_total_byte_budget_leaves_later_files_unread(repo: Path) -> None:
    result = worker.check(repo, exclude=(repo / "state",), total_bytes=10)
    # pkg/bad.py (13 bytes) is read in part, pkg/ok.py is not read at all
    assert result["skipped"] == {"directories": 4, "partly_read": 1, "unread": 1, "binary": 0}
    assert result["truncated"] and result["syntax_errors"] == [], result
    assert result["limits"]["total_bytes"] == 10


def test_the_walk_stops_after_the_entry_cap(tmp_path: Path) -> None:
    for n in range(10):
        (tmp_path / f"m{n}.py").write_text("x = 1\n")
    result = worker.check(tmp_path, max_entries=3)
    assert (result["files"], result["python_lines"], result["truncated"]) == (3, 3, True)


def test_only_the_first_syntax_errors_are_listed(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(worker, "MAX_ERRORS", 2)
    for n in range(5):
        (tmp_path / f"bad{n}.py").write_text("def (\n")
    result = worker.check(tmp_path)
    assert len(result["syntax_errors"]) == 2 and result["syntax_errors_total"] == 5, result


def test_main_prints_one_json_object_without_the_state_directory(
    repo: Path, monkeypatch, capsys
) -> None:
    monkeypatch.setenv("BINKS_REPO_BASE", str(repo.parent))
    monkeypatch.setenv("BINKS_STATE_DIR", str(repo / "state"))
    assert worker.main(["check", "repo"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["repository"] == "repo" and result["skipped"]["directories"] == 4, result
    assert result["limits"] == {
        "entries": worker.MAX_WALKED,
        "file_bytes": MAX_FILE_BYTES,
        "total_bytes": worker.MAX_CHECK_BYTES,
    }


@pytest.mark.parametrize("argv", [[], ["check"], ["check", "../"], ["run", "repo"]])
def test_main_refuses_bad_arguments(repo: Path, monkeypatch, argv: list[str]) -> None:
    monkeypatch.setenv("BINKS_REPO_BASE", str(repo))
    assert worker.main(argv) == 2

"""The reviewer's tools read only inside the repository root."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from functions.code_reviewer.tools import MAX_HITS, repository_tools


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    (root / "pkg").mkdir(parents=True)
    (root / "pkg" / "app.py").write_text("import os\n\ndef main():\n    return os.getcwd()\n")
    (root / "README.md").write_text("# demo\n")
    (root / ".git").mkdir()
    (root / ".git" / "config").write_text("secret")
    (root / "blob.bin").write_bytes(b"\x00\x01\x02")
    (tmp_path / "outside.txt").write_text("TOP SECRET\n")
    return root


def tools(root: Path) -> dict:
    return {tool.name: tool.function for tool in repository_tools(root)}


def test_list_files_lists_the_repository_without_vcs_folders(repo: Path) -> None:
    listing = tools(repo)["list_files"]().splitlines()
    assert listing == ["README.md", "blob.bin", "pkg/app.py"]


def test_read_file_numbers_lines_and_honours_the_range(repo: Path) -> None:
    text = tools(repo)["read_file"]("pkg/app.py", start_line=3, end_line=4)
    assert text == "3: def main():\n4:     return os.getcwd()"


def test_search_text_finds_lines_case_insensitively(repo: Path) -> None:
    assert tools(repo)["search_text"]("GETCWD") == "pkg/app.py:4: return os.getcwd()"
    assert tools(repo)["search_text"]("nowhere") == "(no matches)"


@pytest.mark.parametrize(
    ("tool", "argument"),
    [
        ("read_file", "../outside.txt"),
        ("read_file", "pkg/../../outside.txt"),
        ("list_files", ".."),
        ("search_text", None),
    ],
)
def test_path_traversal_is_refused(repo: Path, tool: str, argument: str | None) -> None:
    call = tools(repo)[tool]
    answer = call("secret", "../") if argument is None else call(argument)
    assert answer.startswith("error:") and "outside the repository root" in answer
    assert "TOP SECRET" not in answer


def test_absolute_paths_are_refused(repo: Path, tmp_path: Path) -> None:
    answer = tools(repo)["read_file"](str(tmp_path / "outside.txt"))
    assert answer.startswith("error:") and "absolute" in answer


def test_symlinks_escaping_the_root_are_refused_and_not_listed(repo: Path) -> None:
    os.symlink(repo.parent / "outside.txt", repo / "escape.txt")
    assert "outside the repository root" in tools(repo)["read_file"]("escape.txt")
    assert "escape.txt" not in tools(repo)["list_files"]()
    assert "TOP SECRET" not in tools(repo)["search_text"]("secret")


def test_binary_and_missing_files_are_explained(repo: Path) -> None:
    assert "binary" in tools(repo)["read_file"]("blob.bin")
    assert "does not exist" in tools(repo)["read_file"]("nope.py")
    assert "not a file" in tools(repo)["read_file"]("pkg")


def test_search_output_is_bounded(repo: Path) -> None:
    (repo / "many.txt").write_text("hit\n" * (MAX_HITS + 10))
    answer = tools(repo)["search_text"]("hit")
    assert len(answer.splitlines()) == MAX_HITS + 1


def test_tools_are_documented_for_the_model(repo: Path) -> None:
    for tool in repository_tools(repo):
        assert tool.description and "Args:" in (tool.function.__doc__ or "")

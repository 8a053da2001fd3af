"""The reviewer's tools read only inside the repository root."""

from __future__ import annotations

import itertools
import os
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import pytest

from functions.code_reviewer.role import review_prompt
from functions.code_reviewer.tools import (
    MAX_FILE_BYTES,
    MAX_HITS,
    MAX_LINE_CHARS,
    Limits,
    Walk,
    repository_tools,
)
from shared.role import Context

HUGE = 300 * 2**20
DEFAULTS = Limits()


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


def tools(root: Path, exclude: tuple[Path, ...] = (), limits: Limits = DEFAULTS) -> dict:
    return {tool.name: tool.function for tool in repository_tools(root, exclude, limits)}


def huge_text_file(path: Path) -> None:
    """A 300 MiB file whose first 300 KiB are text lines (sparse after that)."""
    line = "x = 1  # filler\n"
    with path.open("w") as stream:
        stream.write(line * (300 * 1024 // len(line)))
        stream.truncate(HUGE)


def peak_bytes(call: Callable[[], str]) -> tuple[str, int]:
    """The answer of ``call`` and the peak of Python allocations while it ran."""
    tracemalloc.start()
    try:
        answer = call()
        return answer, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


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


def test_symlink_loops_are_refused(repo: Path) -> None:
    os.symlink(repo / "loop-b", repo / "loop-a")
    os.symlink(repo / "loop-a", repo / "loop-b")
    answer = tools(repo)["read_file"]("loop-a")
    assert answer == "error: 'loop-a' cannot be resolved (a symlink loop?)", answer
    assert tools(repo)["list_files"]().splitlines() == ["README.md", "blob.bin", "pkg/app.py"]


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


def test_a_huge_file_is_read_only_up_to_the_limit(repo: Path) -> None:
    huge_text_file(repo / "huge.py")
    reviewer = tools(repo)
    answer, peak = peak_bytes(lambda: reviewer["read_file"]("huge.py", 1, 2))
    assert answer.startswith("1: x = 1  # filler\n2: x = 1  # filler\n"), answer[:200]
    assert "file truncated: only its first 256 KiB were read" in answer, answer[-300:]
    assert peak < 16 * MAX_FILE_BYTES, f"read_file peak {peak} bytes for a {HUGE}-byte file"
    answer, peak = peak_bytes(lambda: reviewer["search_text"]("nowhere"))
    assert "1 file searched only in part: at most 256 KiB each" in answer, answer
    assert peak < 16 * MAX_FILE_BYTES, f"search_text peak {peak} bytes for a {HUGE}-byte file"


def test_a_huge_sparse_file_is_binary_and_skipped_without_reading_it(repo: Path) -> None:
    with (repo / "weights.txt").open("wb") as stream:
        stream.truncate(HUGE)
    reviewer = tools(repo)
    answer, peak = peak_bytes(lambda: reviewer["search_text"]("x"))
    assert answer == "(no matches)" and peak < 16 * MAX_FILE_BYTES, (answer, peak)
    assert "binary" in reviewer["read_file"]("weights.txt")


def test_binary_files_are_skipped_by_nul_byte_and_by_suffix(repo: Path) -> None:
    (repo / "data.txt").write_bytes(b"needle\n\x00")
    (repo / "model.gguf").write_text("needle\n")  # text, but never opened
    reviewer = tools(repo)
    assert reviewer["search_text"]("needle") == "(no matches)"
    assert reviewer["read_file"]("data.txt") == "error: 'data.txt' is a binary file"
    assert reviewer["read_file"]("model.gguf") == "error: 'model.gguf' is a binary file"


def test_long_lines_are_clipped(repo: Path) -> None:
    (repo / "long.js").write_text("a" * (MAX_LINE_CHARS * 5) + "\nshort\n")
    first, second = tools(repo)["read_file"]("long.js").splitlines()
    assert first == "1: " + "a" * MAX_LINE_CHARS + " ... (line clipped)", first[-40:]
    assert second == "2: short"


SKIPPED = [".git/config", ".venv-x/lib.py", "venv/lib.py", "node_modules/m.js"]
SKIPPED += [".cache/c.txt", "pkg/__pycache__/app.txt", "state/reviewer.txt"]


@pytest.fixture
def cluttered(repo: Path) -> Path:
    for relative in SKIPPED:
        (repo / relative).parent.mkdir(parents=True, exist_ok=True)
        (repo / relative).write_text("secret token\n")
    os.symlink(repo / ".git" / "config", repo / "link.txt")
    return repo


def test_skipped_and_excluded_directories_are_neither_listed_nor_searched(cluttered: Path) -> None:
    reviewer = tools(cluttered, exclude=(cluttered / "state",))
    assert reviewer["list_files"]().splitlines() == ["README.md", "blob.bin", "pkg/app.py"]
    assert reviewer["search_text"]("secret") == "(no matches)"


@pytest.mark.parametrize("relative", [*SKIPPED, "link.txt", ".git", "state", "pkg/__pycache__"])
def test_paths_in_skipped_or_excluded_directories_are_refused(
    cluttered: Path, relative: str
) -> None:
    reviewer = tools(cluttered, exclude=(cluttered / "state",))
    for answer in (
        reviewer["read_file"](relative),
        reviewer["list_files"](relative),
        reviewer["search_text"]("secret", relative),
    ):
        assert answer.startswith(f"error: {relative!r} is refused"), answer


def test_the_role_excludes_its_state_directory_from_the_workspace(cluttered: Path) -> None:
    context = Context("agno", "m", workspace=cluttered.parent, state_dir=cluttered / "state")
    prompt = review_prompt({"repository": "repo"}, context, None)
    reviewer = {tool.name: tool.function for tool in prompt.tools}
    assert "state/" not in reviewer["list_files"]()
    assert "excluded from reading" in reviewer["read_file"]("state/reviewer.txt")


@pytest.fixture
def many(repo: Path) -> Path:
    for n in range(10):
        (repo / f"f{n}.txt").write_text(f"hit {n}\n")
    return repo


def test_search_stops_when_its_read_budget_is_used_up(many: Path) -> None:
    # README.md (7 bytes) and 5 of f0.txt's 6 bytes use up the 12 bytes; blob.bin is not read
    answer = tools(many, limits=Limits(total_bytes=12))["search_text"]("hit")
    assert answer.splitlines() == [
        "f0.txt:1: hit 0",
        "... (1 file searched only in part: at most 256 KiB each)",
        "... (search stopped early after 2 files: its read budget of 12 bytes was used up;"
        " the results are incomplete, search a smaller directory)",
    ], answer


def test_search_stops_when_its_time_budget_runs_out(many: Path) -> None:
    ticks = itertools.count()  # each clock reading is one second after the last
    limits = Limits(seconds=3.5, clock=lambda: next(ticks))
    answer = tools(many, limits=limits)["search_text"]("hit")
    assert answer.splitlines() == [
        "f0.txt:1: hit 0",
        "... (search stopped early after 2 files: its time budget of 3.5 s ran out;"
        " the results are incomplete, search a smaller directory)",
    ], answer


def test_walks_stop_after_the_entry_cap(repo: Path) -> None:
    for n in range(10):
        (repo / "flat" / f"f{n}.txt").parent.mkdir(exist_ok=True)
        (repo / "flat" / f"f{n}.txt").write_text(f"hit {n}\n")
    walk = Walk(repo, repo / "flat", max_entries=4)
    assert (len(list(walk)), walk.entries, walk.capped) == (4, 4, True)
    reviewer = tools(repo, limits=Limits(walked=4))
    listing = reviewer["list_files"]("flat").splitlines()
    assert len(listing) == 5 and listing[-1] == (
        "... (stopped after looking at 4 directory entries, 0 more not shown;"
        " the listing is incomplete, list a subdirectory)"
    ), listing
    answer = reviewer["search_text"]("hit", "flat").splitlines()
    assert len(answer) == 5 and answer[-1] == (
        "... (search stopped early after 4 files: it looked at 4 directory entries;"
        " the results are incomplete, search a smaller directory)"
    ), answer

"""Read-only repository tools, confined to one repository root, with bounded reads.

Every path the model names is resolved (symlinks included) and refused unless it
stays inside the root, outside the directories the tools skip (:data:`SKIPPED_DIRS`,
any ``.venv*``) and outside the paths the caller excludes (the function's state
directory). Refusals are returned as ``error: ...`` text for the model.

No tool reads a whole file or walks a whole tree: a file is read up to
:data:`MAX_FILE_BYTES` (the answer says when it was truncated), binary files (a NUL
byte in what was read, or a :data:`BINARY_SUFFIXES` name) are skipped, a walk stops
after :data:`MAX_WALKED` directory entries, and one ``search_text`` stops after
:data:`MAX_SEARCH_BYTES` read or :data:`SEARCH_SECONDS` spent, saying so. Output is
bounded too, so a large repository cannot flood the model's context.

The walking and reading rules live in :mod:`shared.files`, shared with the repository
check (``python -m functions.worker``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from shared.files import (
    BINARY_SUFFIXES,
    MAX_FILE_BYTES,
    MAX_WALKED,
    SKIPPED_DIRS,
    PathRefused,
    Prefix,
    Walk,
    confine,
    read_prefix,
    refusal,
    resolved,
    size_text,
    skipped_name,
)
from shared.role import Tool

__all__ = [  # the shared rules, re-exported: the tools are documented by them
    "BINARY_SUFFIXES",
    "MAX_FILE_BYTES",
    "MAX_WALKED",
    "SKIPPED_DIRS",
    "PathRefused",
    "Walk",
    "confine",
    "read_prefix",
    "refusal",
    "repository_tools",
    "skipped_name",
]

MAX_LISTED = 200
MAX_LINES = 400
MAX_CHARS = 20_000
MAX_HITS = 50
#: Longest line ``read_file`` shows whole (``search_text`` shows 200 characters of a hit).
MAX_LINE_CHARS = 1_000
#: Bytes one ``search_text`` call reads in all, over every file it opens.
MAX_SEARCH_BYTES = 8 * 1024 * 1024
#: Wall-clock seconds one ``search_text`` call may spend (checked before each file).
SEARCH_SECONDS = 5.0


@dataclass(frozen=True)
class Limits:
    """What one tool call may read; the defaults are the module's constants.

    ``clock`` is what the time budget is measured with (injectable for tests).
    """

    file_bytes: int = MAX_FILE_BYTES
    total_bytes: int = MAX_SEARCH_BYTES
    seconds: float = SEARCH_SECONDS
    walked: int = MAX_WALKED
    clock: Callable[[], float] = time.monotonic


def files_text(count: int) -> str:
    """``1 file``, ``2 files``."""
    return f"{count} file" if count == 1 else f"{count} files"


def _numbered(prefix: Prefix, start_line: int, end_line: int) -> str:
    """``read_file``'s answer: the numbered, clipped lines, and whether the file was cut."""
    lines = prefix.text.splitlines()
    first = max(1, int(start_line))
    last = min(len(lines), int(end_line), first + MAX_LINES - 1)
    shown = "\n".join(
        f"{n}: {lines[n - 1][:MAX_LINE_CHARS]}"
        + (" ... (line clipped)" if len(lines[n - 1]) > MAX_LINE_CHARS else "")
        for n in range(first, last + 1)
    )[:MAX_CHARS]
    if not lines:
        shown = "(empty file)"
    elif not shown:
        shown = f"(no such lines: {len(lines)} lines were read)"
    if prefix.truncated:
        shown += (
            f"\n... (file truncated: only its first {size_text(prefix.size)} were read,"
            f" {len(lines)} lines, the last one possibly cut)"
        )
    return shown


def _search(walk: Walk, needle: str, limits: Limits) -> str:
    """``search_text``'s answer: hits for the lowercase ``needle``, within the budgets."""
    hits: list[str] = []
    budget, searched, partly, stopped = limits.total_bytes, 0, 0, ""
    started = limits.clock()
    for relative, path in walk:
        if limits.clock() - started >= limits.seconds:
            stopped = f"its time budget of {limits.seconds:g} s ran out"
            break
        if budget <= 0:
            stopped = f"its read budget of {size_text(limits.total_bytes)} was used up"
            break
        try:
            prefix = read_prefix(path, min(limits.file_bytes, budget))
        except OSError:
            continue
        budget -= prefix.size
        if prefix.binary:
            continue
        searched += 1
        partly += prefix.truncated
        for number, line in enumerate(prefix.text.splitlines(), start=1):
            if needle in line.lower():
                hits.append(f"{relative}:{number}: {line.strip()[:200]}")
                if len(hits) >= MAX_HITS:
                    return "\n".join(hits) + "\n... (more hits not shown)"
    if not stopped and walk.capped:
        stopped = f"it looked at {walk.max_entries} directory entries"
    notes = []
    if partly:
        limit = size_text(limits.file_bytes)
        notes.append(f"... ({files_text(partly)} searched only in part: at most {limit} each)")
    if stopped:
        notes.append(
            f"... (search stopped early after {files_text(searched)}: {stopped};"
            " the results are incomplete, search a smaller directory)"
        )
    empty = "(no matches in what was searched)" if notes else "(no matches)"
    return "\n".join((hits or [empty]) + notes)


#: Files a prompt lists, and a located-findings schema names one by one, at most.
MAX_PROMPT_FILES = 40


def text_files(
    root: Path, exclude: tuple[Path, ...] = (), limit: int = MAX_PROMPT_FILES
) -> list[tuple[str, int]] | None:
    """``(relative path, lines)`` of every text file of the repository, or None when
    there are more than ``limit`` or a walk or read was cut short (then only the tools
    can tell what is there)."""
    base = root.resolve()
    walk = Walk(base, base, resolved(exclude))
    files = []
    for relative, path in walk:
        if len(files) == limit:
            return None
        try:
            prefix = read_prefix(path)
        except OSError:
            continue
        if prefix.truncated:
            return None
        if not prefix.binary:
            files.append((relative, len(prefix.text.splitlines())))
    return None if walk.capped else files


def repository_tools(
    root: Path, exclude: tuple[Path, ...] = (), limits: Limits = Limits()
) -> tuple[Tool, ...]:
    """The three tools of the code reviewer, bound to ``root``. Long because its body is
    the three tools (closures over the root, the exclusions and the limits).

    Nothing under an ``exclude`` path (the function's state directory) is listed,
    searched or read, even when it lies inside ``root``.
    """
    base = root.resolve()
    exclude = resolved(exclude)

    def list_files(directory: str = ".") -> str:
        """List the files of the repository under a directory, one relative path per line.

        Args:
            directory: A directory relative to the repository root; "." is the root.
        """
        try:
            start = confine(base, directory, exclude)
        except PathRefused as refused:
            return f"error: {refused}"
        walk = Walk(base, start, exclude, limits.walked)
        shown: list[str] = []
        more = 0
        for relative, _ in walk:
            if len(shown) < MAX_LISTED:
                shown.append(relative)
            else:
                more += 1
        text = "\n".join(shown) or "(no files)"
        if walk.capped:
            return text + (
                f"\n... (stopped after looking at {walk.max_entries} directory entries,"
                f" {more} more not shown; the listing is incomplete, list a subdirectory)"
            )
        return text + (f"\n... and {more} more" if more else "")

    def read_file(path: str, start_line: int = 1, end_line: int = MAX_LINES) -> str:
        """Read a text file of the repository; each line is prefixed with its number.

        Args:
            path: The file, relative to the repository root.
            start_line: First line to return (1-based).
            end_line: Last line to return (inclusive).
        """
        try:
            target = confine(base, path, exclude)
        except PathRefused as refused:
            return f"error: {refused}"
        if not target.is_file():
            return f"error: {path!r} is not a file"
        try:
            prefix = read_prefix(target, limits.file_bytes)
        except OSError as problem:
            return f"error: {path!r} cannot be read: {problem.strerror or problem}"
        if prefix.binary:
            return f"error: {path!r} is a binary file"
        return _numbered(prefix, start_line, end_line)

    def search_text(text: str, directory: str = ".") -> str:
        """Find lines containing a text (case-insensitive); answers path:line: content.

        Args:
            text: The text to look for (plain text, not a pattern).
            directory: A directory relative to the repository root; "." is the root.
        """
        try:
            start = confine(base, directory, exclude)
        except PathRefused as refused:
            return f"error: {refused}"
        if not text:
            return "error: give a non-empty text to search for"
        return _search(Walk(base, start, exclude, limits.walked), text.lower(), limits)

    return tuple(Tool(f.__name__, f) for f in (list_files, read_file, search_text))

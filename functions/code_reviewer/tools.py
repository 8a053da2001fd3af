"""Read-only repository tools, confined to one repository root.

Every path the model names is resolved (symlinks included) and refused unless it
stays inside the root. Output is bounded so a large repository cannot flood the
model's context. Refusals are returned as ``error: ...`` text for the model.
"""

from __future__ import annotations

import os
from pathlib import Path

from shared.role import Tool

MAX_LISTED = 200
MAX_LINES = 400
MAX_CHARS = 20_000
MAX_HITS = 50
_SKIPPED_DIRS = {".git", ".hg", ".svn", "__pycache__", "node_modules", ".venv", "venv"}


class PathRefused(ValueError):
    """A path that leaves the repository root or does not exist."""


def confine(root: Path, relative: str) -> Path:
    """Resolve ``relative`` under ``root``; raise :class:`PathRefused` if it escapes."""
    if "\x00" in relative:
        raise PathRefused("path contains a NUL byte")
    if Path(relative).is_absolute():
        raise PathRefused(f"{relative!r} is absolute; give a path relative to the repository root")
    base = root.resolve()
    target = (base / relative).resolve()
    if not target.is_relative_to(base):
        raise PathRefused(f"{relative!r} is outside the repository root")
    if not target.exists():
        raise PathRefused(f"{relative!r} does not exist")
    return target


def _walk(base: Path, start: Path) -> list[str]:
    found: list[str] = []
    for directory, subdirs, files in os.walk(start):
        subdirs[:] = sorted(d for d in subdirs if d not in _SKIPPED_DIRS)
        for name in sorted(files):
            path = Path(directory, name)
            if path.resolve().is_relative_to(base):  # skip symlinks that leave the root
                found.append(path.relative_to(base).as_posix())
    return found


def _read_text(path: Path) -> str | None:
    data = path.read_bytes()[: MAX_CHARS * 4]
    if b"\x00" in data:
        return None
    return data.decode("utf-8", errors="replace")


def repository_tools(root: Path) -> tuple[Tool, ...]:
    """The three tools of the code reviewer, bound to ``root``."""
    base = root.resolve()

    def list_files(directory: str = ".") -> str:
        """List the files of the repository under a directory, one relative path per line.

        Args:
            directory: A directory relative to the repository root; "." is the root.
        """
        try:
            start = confine(base, directory)
        except PathRefused as refused:
            return f"error: {refused}"
        files = _walk(base, start) if start.is_dir() else [start.relative_to(base).as_posix()]
        more = f"\n... and {len(files) - MAX_LISTED} more" if len(files) > MAX_LISTED else ""
        return "\n".join(files[:MAX_LISTED]) + more or "(no files)"

    def read_file(path: str, start_line: int = 1, end_line: int = MAX_LINES) -> str:
        """Read a text file of the repository; each line is prefixed with its number.

        Args:
            path: The file, relative to the repository root.
            start_line: First line to return (1-based).
            end_line: Last line to return (inclusive).
        """
        try:
            target = confine(base, path)
        except PathRefused as refused:
            return f"error: {refused}"
        if not target.is_file():
            return f"error: {path!r} is not a file"
        text = _read_text(target)
        if text is None:
            return f"error: {path!r} is a binary file"
        lines = text.splitlines()
        first = max(1, int(start_line))
        last = min(len(lines), int(end_line), first + MAX_LINES - 1)
        shown = "\n".join(f"{n}: {lines[n - 1]}" for n in range(first, last + 1))
        return shown[:MAX_CHARS] or "(empty file)"

    def search_text(text: str, directory: str = ".") -> str:
        """Find lines containing a text (case-insensitive); answers path:line: content.

        Args:
            text: The text to look for (plain text, not a pattern).
            directory: A directory relative to the repository root; "." is the root.
        """
        try:
            start = confine(base, directory)
        except PathRefused as refused:
            return f"error: {refused}"
        if not text:
            return "error: give a non-empty text to search for"
        needle = text.lower()
        hits: list[str] = []
        files = _walk(base, start) if start.is_dir() else [start.relative_to(base).as_posix()]
        for relative in files:
            content = _read_text(base / relative)
            for number, line in enumerate((content or "").splitlines(), start=1):
                if needle in line.lower():
                    hits.append(f"{relative}:{number}: {line.strip()[:200]}")
                    if len(hits) >= MAX_HITS:
                        return "\n".join(hits) + "\n... (more hits not shown)"
        return "\n".join(hits) or "(no matches)"

    return tuple(Tool(f.__name__, f) for f in (list_files, read_file, search_text))

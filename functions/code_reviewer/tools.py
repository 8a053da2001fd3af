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

The walking and reading rules (:func:`refusal`, :class:`Walk`, :func:`read_prefix`)
are also those of the repository check (``python -m functions.worker``); this module
imports only the standard library and :mod:`shared.role`.
"""

from __future__ import annotations

import os
import stat
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from shared.role import Tool

MAX_LISTED = 200
MAX_LINES = 400
MAX_CHARS = 20_000
MAX_HITS = 50
#: Longest line ``read_file`` shows whole (``search_text`` shows 200 characters of a hit).
MAX_LINE_CHARS = 1_000
#: Bytes read of any one file: the rest of a larger file is never read.
MAX_FILE_BYTES = 256 * 1024
#: Bytes one ``search_text`` call reads in all, over every file it opens.
MAX_SEARCH_BYTES = 8 * 1024 * 1024
#: Wall-clock seconds one ``search_text`` call may spend (checked before each file).
SEARCH_SECONDS = 5.0
#: Directory entries (files and directories) one walk looks at before it stops.
MAX_WALKED = 10_000
#: Directories never entered nor read: version control, caches, dependencies. Any name
#: starting with ``.venv`` (``.venv``, ``.venvs``, ``.venv-agno``) is skipped as well.
SKIPPED_DIRS = frozenset(
    {
        ".git",
        ".hg",
        ".svn",
        ".cache",
        ".mypy_cache",
        ".pytest_cache",
        ".ruff_cache",
        ".tox",
        "__pycache__",
        "node_modules",
        "venv",
    }
)
#: Suffixes of files skipped as binary without being opened: model weights, native
#: code, archives, images, databases. Other binary files are found by a NUL byte.
BINARY_SUFFIXES = frozenset(
    {".gguf", ".bin", ".safetensors", ".pt", ".onnx", ".so", ".dll", ".dylib", ".o", ".a"}
    | {".pyc", ".whl", ".zip", ".gz", ".tar", ".xz", ".png", ".jpg", ".jpeg", ".gif"}
    | {".sqlite", ".db"}
)


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


class PathRefused(ValueError):
    """A path that leaves the repository root, is skipped or excluded, or does not exist."""


def skipped_name(name: str) -> bool:
    """Whether a path component names a directory the tools skip."""
    return name in SKIPPED_DIRS or name.startswith(".venv")


def refusal(base: Path, target: Path, exclude: tuple[Path, ...] = ()) -> str | None:
    """Why the resolved ``target`` may not be read under the resolved ``base``, or None."""
    if not target.is_relative_to(base):
        return "is outside the repository root"
    for part in target.relative_to(base).parts:
        if skipped_name(part):
            return f"is refused: the tools do not read {part!r} directories"
    if any(target.is_relative_to(path) for path in exclude):
        return "is refused: it is in a directory excluded from reading"
    return None


def resolved(paths: tuple[Path, ...]) -> tuple[Path, ...]:
    """The excluded paths, resolved like every path they are compared with."""
    return tuple(Path(path).resolve() for path in paths)


def confine(root: Path, relative: str, exclude: tuple[Path, ...] = ()) -> Path:
    """Resolve ``relative`` under ``root``; raise :class:`PathRefused` if it may not be read."""
    if "\x00" in relative:
        raise PathRefused("path contains a NUL byte")
    if Path(relative).is_absolute():
        raise PathRefused(f"{relative!r} is absolute; give a path relative to the repository root")
    base = root.resolve()
    try:
        target = (base / relative).resolve()
    except (OSError, RuntimeError) as problem:  # a symlink loop is a RuntimeError in 3.11
        raise PathRefused(f"{relative!r} cannot be resolved (a symlink loop?)") from problem
    reason = refusal(base, target, resolved(exclude))
    if reason is not None:
        raise PathRefused(f"{relative!r} {reason}")
    if not target.exists():
        raise PathRefused(f"{relative!r} does not exist")
    return target


class Walk:
    """The files under ``start``, top-down in sorted order, within the rules and a cap.

    Iterating yields ``(relative posix path, path)`` for each regular file allowed by
    :func:`refusal`. Skipped and excluded directories are not entered (``skipped``
    counts them), symlinked directories are not followed, a symlinked file is yielded
    only when its target is allowed. At most ``max_entries`` directory entries are looked
    at, never all of a huge directory at once; then ``capped`` is True and the walk ends.
    """

    def __init__(
        self, base: Path, start: Path, exclude: tuple[Path, ...] = (), max_entries: int = MAX_WALKED
    ) -> None:
        self.base = base.resolve()
        self.start = start
        self.exclude = resolved(exclude)
        self.max_entries = max_entries
        self.entries = 0
        self.skipped = 0
        self.capped = False

    def __iter__(self) -> Iterator[tuple[str, Path]]:
        if not self.start.is_dir():
            if self.start.is_file():
                yield self.start.relative_to(self.base).as_posix(), self.start
            return
        pending = [self.start]
        while pending and not self.capped:
            files, subdirs = self._scan(pending.pop())
            for path in files:
                yield path.relative_to(self.base).as_posix(), path
            pending.extend(reversed(subdirs))

    def _allowed(self, path: Path) -> bool:
        """Whether :func:`refusal` lets the (resolved) ``path`` be read."""
        return refusal(self.base, path, self.exclude) is None

    def _scan(self, directory: Path) -> tuple[list[Path], list[Path]]:
        """The allowed files and subdirectories of ``directory``, sorted, within the cap."""
        files: list[Path] = []
        subdirs: list[Path] = []
        try:
            with os.scandir(directory) as entries:
                for entry in entries:
                    if self.entries >= self.max_entries:
                        self.capped = True
                        break
                    self.entries += 1
                    kind = self._kind(entry)
                    if kind == "file":
                        files.append(Path(entry.path))
                    elif kind == "directory":
                        subdirs.append(Path(entry.path))
        except OSError:
            pass  # an unreadable directory is left out, as os.walk does
        return sorted(files), sorted(subdirs)

    def _kind(self, entry: os.DirEntry[str]) -> str | None:
        """``"file"`` or ``"directory"`` for an entry to take, None to leave it out."""
        path = Path(entry.path)
        try:
            if entry.is_dir(follow_symlinks=False):
                if self._allowed(path):
                    return "directory"
                self.skipped += 1
            elif entry.is_file() and self._allowed(path.resolve() if entry.is_symlink() else path):
                return "file"
        except (OSError, RuntimeError):  # a symlink loop, a vanished entry
            pass
        return None


@dataclass(frozen=True)
class Prefix:
    """What was read of a file: at most a limit of bytes, decoded, never the whole file."""

    text: str
    size: int
    truncated: bool
    binary: bool


def read_prefix(path: Path, limit: int = MAX_FILE_BYTES) -> Prefix:
    """Read at most ``limit`` bytes of the regular file ``path`` (OSError if it is none).

    A :data:`BINARY_SUFFIXES` file is not opened; a NUL byte in what was read makes
    the file binary too. ``truncated``: the file has more than ``limit`` bytes.
    """
    if path.suffix.lower() in BINARY_SUFFIXES:
        return Prefix("", 0, False, True)
    # O_NONBLOCK: a FIFO swapped in after the walk cannot make the read wait forever.
    descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    with open(descriptor, "rb") as stream:
        if not stat.S_ISREG(os.fstat(descriptor).st_mode):
            raise OSError("not a regular file")
        data = stream.read(limit + 1)
    truncated = len(data) > limit
    data = data[:limit]
    if b"\x00" in data:
        return Prefix("", len(data), truncated, True)
    return Prefix(data.decode("utf-8", errors="replace"), len(data), truncated, False)


def size_text(size: int) -> str:
    """A byte count for people and models: 262144 -> "256 KiB"."""
    if size < 1024:
        return f"{size} bytes"
    if size < 1024 * 1024:
        return f"{size / 1024:g} KiB"
    return f"{size / (1024 * 1024):g} MiB"


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


def repository_tools(
    root: Path, exclude: tuple[Path, ...] = (), limits: Limits = Limits()
) -> tuple[Tool, ...]:
    """The three tools of the code reviewer, bound to ``root``.

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

"""Reading a repository within bounds: the rules the code reviewer's tools and the
repository check (``python -m functions.worker``) share.

A path is readable when it stays under the root (symlinks resolved), outside the
directories never read (:data:`SKIPPED_DIRS`, any ``.venv*``) and outside the paths a
caller excludes (a function's state directory). A file is read up to
:data:`MAX_FILE_BYTES`, never whole; binary files are skipped; a walk stops after
:data:`MAX_WALKED` directory entries. Standard library only.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

#: Bytes read of any one file: the rest of a larger file is never read.
MAX_FILE_BYTES = 256 * 1024
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

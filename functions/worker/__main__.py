"""``python -m functions.worker check <repository>``: a batch task worth a Job.

Parses the Python files of a repository and counts files and lines, then prints
one JSON object. It only reads, and only inside ``BINKS_REPO_BASE``, with the code
reviewer's walking and reading rules (``functions/code_reviewer/tools.py``): the
same directories are skipped (``.git``, ``.venv*``, ``node_modules``, caches ...),
``BINKS_STATE_DIR`` is excluded, symlinks that leave the repository are ignored.

Bounds, so that no repository can exhaust the Job's memory:

- at most ``MAX_WALKED`` directory entries are looked at;
- at most ``MAX_FILE_BYTES`` are read of any file; a larger Python file is counted
  (its lines as far as read) but not parsed, since its cut would be a syntax error;
- at most ``MAX_CHECK_BYTES`` are read in all; later Python files are not read;
- at most ``MAX_ERRORS`` syntax errors are listed (``syntax_errors_total`` counts all).

The Job's ``activeDeadlineSeconds`` bounds its time. The JSON says what the bounds
left out: ``truncated`` is true when any bound cut the check short, ``skipped``
counts the skipped directories, the Python files read only in part or not at all and
the binary ones, ``limits`` gives the bounds. Exit codes: 0 checked (syntax errors
are findings, not a failure), 2 bad arguments.
"""

from __future__ import annotations

import ast
import json
import os
import sys
from pathlib import Path
from typing import Any

from shared.files import MAX_FILE_BYTES, MAX_WALKED, Walk, read_prefix

#: Bytes read in all, over every Python file of one check.
MAX_CHECK_BYTES = 32 * 1024 * 1024
#: Syntax errors listed in the JSON (one line of output, read back from the Job's log).
MAX_ERRORS = 50
USAGE = "usage: python -m functions.worker check <repository>"


def syntax_error(text: str, relative: str) -> dict[str, Any] | None:
    """The first syntax error of one Python source, or None when it parses."""
    try:
        ast.parse(text, filename=relative)
    except SyntaxError as problem:
        return {"path": relative, "line": problem.lineno, "message": problem.msg}
    except (ValueError, RecursionError, MemoryError) as problem:  # nesting too deep
        return {"path": relative, "line": None, "message": type(problem).__name__}
    return None


def check(
    root: Path,
    exclude: tuple[Path, ...] = (),
    *,
    file_bytes: int = MAX_FILE_BYTES,
    total_bytes: int = MAX_CHECK_BYTES,
    max_entries: int = MAX_WALKED,
) -> dict[str, Any]:
    """Files, lines and syntax errors of the Python files under ``root``, within the bounds."""
    walk = Walk(root, root.resolve(), exclude, max_entries)
    files = lines = total_errors = 0
    budget = total_bytes
    skipped = {"partly_read": 0, "unread": 0, "binary": 0}
    errors: list[dict[str, Any]] = []
    for relative, path in walk:
        files += 1
        if path.suffix != ".py":
            continue
        if budget <= 0:
            skipped["unread"] += 1
            continue
        try:
            prefix = read_prefix(path, min(file_bytes, budget))
        except OSError:
            skipped["unread"] += 1
            continue
        budget -= prefix.size
        if prefix.binary:
            skipped["binary"] += 1
            continue
        text = prefix.text
        lines += text.count("\n") + (not text.endswith("\n") and bool(text))
        if prefix.truncated:
            skipped["partly_read"] += 1
        elif (error := syntax_error(text, relative)) is not None:
            total_errors += 1
            if len(errors) < MAX_ERRORS:
                errors.append(error)
    return {
        "files": files,
        "python_lines": lines,
        "syntax_errors": errors,
        "syntax_errors_total": total_errors,
        "truncated": walk.capped or bool(skipped["partly_read"] or skipped["unread"]),
        "skipped": {"directories": walk.skipped, **skipped},
        "limits": {"entries": max_entries, "file_bytes": file_bytes, "total_bytes": total_bytes},
    }


def main(argv: list[str]) -> int:
    """Run the command line; print the check's JSON or the usage, answer the exit code."""
    if len(argv) != 2 or argv[0] != "check":
        print(USAGE, file=sys.stderr)
        return 2
    base = Path(os.environ.get("BINKS_REPO_BASE") or Path.cwd()).resolve()
    root = (base / argv[1]).resolve()
    if not root.is_relative_to(base) or not root.is_dir():
        print(f"error: {argv[1]!r} is not a directory inside {base}", file=sys.stderr)
        return 2
    state_dir = os.environ.get("BINKS_STATE_DIR")
    exclude = (Path(state_dir),) if state_dir else ()
    print(json.dumps({"repository": argv[1], **check(root, exclude)}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

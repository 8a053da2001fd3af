"""``python -m functions.worker check <repository>``: a batch task worth a Job.

Parses every Python file of a repository and counts files and lines, then prints
one JSON object. It only reads, and only inside ``BINKS_REPO_BASE``. Exit codes:
0 checked (syntax errors are findings, not a failure), 2 bad arguments.
"""

from __future__ import annotations

import ast
import json
import os
import sys
from pathlib import Path

MAX_FILES = 5000
USAGE = "usage: python -m functions.worker check <repository>"


def check(root: Path) -> dict:
    """Files, lines and syntax errors of every Python file under ``root``."""
    files = lines = 0
    errors = []
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root)
        if any(part.startswith(".") for part in relative.parts) or not path.is_file():
            continue
        if path.is_symlink() and not path.resolve().is_relative_to(root):
            continue  # never read outside the repository
        files += 1
        if files > MAX_FILES:
            break
        if path.suffix != ".py":
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        lines += text.count("\n") + (not text.endswith("\n") and bool(text))
        try:
            ast.parse(text, filename=str(relative))
        except SyntaxError as problem:
            errors.append({"path": str(relative), "line": problem.lineno, "message": problem.msg})
    return {"files": min(files, MAX_FILES), "python_lines": lines, "syntax_errors": errors}


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[0] != "check":
        print(USAGE, file=sys.stderr)
        return 2
    base = Path(os.environ.get("BINKS_REPO_BASE") or Path.cwd()).resolve()
    root = (base / argv[1]).resolve()
    if not root.is_relative_to(base) or not root.is_dir():
        print(f"error: {argv[1]!r} is not a directory inside {base}", file=sys.stderr)
        return 2
    print(json.dumps({"repository": argv[1], **check(root)}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

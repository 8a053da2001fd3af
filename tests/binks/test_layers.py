"""Layers point down: the command line (``binks``) is the top floor, and nothing under it
imports it, nor anything above itself."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from localknative.paths import REPO

#: package → the project packages it must never import (its floor and everything above).
FORBIDDEN = {
    "bench": {"binks"},
    "localknative": {"binks", "bench"},
    "modelserver": {"binks", "bench", "localknative"},
}


def imported_packages(path: Path) -> set[str]:
    """The top-level package of every absolute ``import``/``from`` in ``path``, at any depth
    (imports inside functions count too)."""
    tops = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            tops.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            tops.add(node.module.split(".")[0])
    return tops


def test_the_scan_sees_imports_inside_functions(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text("import os.path\n\ndef f():\n    from binks.cli import main\n")
    assert imported_packages(module) == {"os", "binks"}


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_no_arrow_points_up(package: str) -> None:
    arrows = {
        f"{path.relative_to(REPO)} imports {top}"
        for path in sorted((REPO / package).rglob("*.py"))
        for top in imported_packages(path) & FORBIDDEN[package]
    }
    assert not arrows


def test_binks_keeps_only_the_command_line_its_client_and_the_demo() -> None:
    # client: the control API and the broker; waiting: a task's answers; views: what the
    # control commands print; bench_command: which bench runs
    modules = {path.stem for path in (REPO / "binks").glob("*.py")}
    expected = {"__init__", "cli", "bench_command", "client", "waiting", "views", "demo"}
    assert modules == expected, modules

"""The newest bench comparison as the dashboard shows it: ``bench/results/latest.md``
read into sections of paragraphs and tables (text only: the page writes it as text),
and the plots beside it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

#: The most of ``latest.md`` read (it is a few KiB).
MAX_BYTES = 256 * 1024


def bench_summary(results: Path) -> dict[str, Any]:
    """``{"source", "sections": [{"heading", "paragraphs", "tables"}], "plots"}``; no
    sections when there is no ``latest.md``."""
    latest = results / "latest.md"
    plots = sorted(p.name for p in (results / "plots").glob("*.png")) if results.is_dir() else []
    if not latest.is_file():
        return {"source": None, "sections": [], "plots": plots}
    with latest.open(encoding="utf-8", errors="replace") as text:
        markdown = text.read(MAX_BYTES)
    return {"source": str(latest.name), "sections": sections(markdown), "plots": plots}


def sections(markdown: str) -> list[dict[str, Any]]:
    """Headings, paragraphs and pipe tables of ``markdown`` (nothing else is read)."""
    found: list[dict[str, Any]] = []
    current: dict[str, Any] = {"heading": "", "paragraphs": [], "tables": []}
    table: list[list[str]] | None = None
    for line in markdown.splitlines():
        stripped = line.strip()
        if stripped.startswith("|"):
            cells = [c.strip() for c in stripped.strip("|").split("|")]
            if all(set(c) <= set("-: ") for c in cells):
                continue  # the header's underline
            if table is None:
                table = []
                current["tables"].append(table)
            table.append(cells)
            continue
        table = None
        if stripped.startswith("#"):
            if current["heading"] or current["paragraphs"] or current["tables"]:
                found.append(current)
            current = {"heading": stripped.lstrip("#").strip(), "paragraphs": [], "tables": []}
        elif stripped:
            current["paragraphs"].append(stripped)
    if current["heading"] or current["paragraphs"] or current["tables"]:
        found.append(current)
    return [
        {**s, "tables": [{"header": t[0], "rows": t[1:]} for t in s["tables"] if t]} for s in found
    ]

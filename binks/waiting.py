"""Waiting for a task's answers (``binks send --wait-for``): the wanted events, their
``...failed`` siblings, and the task's events as they happen."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

#: Seconds between two "still waiting" lines when nothing happens.
HEARTBEAT_S = 15.0


class WaitTimeout(RuntimeError):
    """Not every answer arrived in time; the message says how many did."""


@dataclass
class Answers:
    """What a wait collected: the wanted events and the failures among the answers, in
    the order they arrived, each with its whole data."""

    found: list[dict[str, Any]] = field(default_factory=list)
    failed: list[dict[str, Any]] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.found) + len(self.failed)


def failure_of(event_type: str) -> str:
    """The type a function answers with instead of ``event_type`` when it fails:
    ``dev.binks.review.completed`` → ``dev.binks.review.failed``."""
    return event_type.rsplit(".", 1)[0] + ".failed"


def reason_of(row: dict[str, Any], data: Any) -> str:
    """A failed answer in one line: its variant and the reason its data gives."""
    variant = row["attributes"].get("binksvariant", "?")
    if isinstance(data, dict):
        reason = data.get("reason") or data.get("error") or "no reason given"
    else:
        reason = "no reason given"
    return f"{row['attributes'].get('type')} from {variant}: {reason}"


def progress_line(row: dict[str, Any], elapsed_s: float) -> str:
    """One of the task's events as it happens: when, what, from where."""
    attributes = row["attributes"]
    variant = attributes.get("binksvariant")
    source = attributes.get("source", "").rsplit("/", 1)[-1]
    tail = f" ({variant})" if variant else ""
    return f"  {elapsed_s:6.1f}s  {attributes.get('type')}  from {source}{tail}"


def wait(
    rows_after: Callable[[int], list[dict[str, Any]]],
    data_of: Callable[[int], Any],
    wanted: tuple[str, ...],
    count: int,
    timeout_s: float,
    after: int = 0,
    on_line: Callable[[str], None] = lambda line: None,
    line_of: Callable[[dict[str, Any], float], str] = progress_line,
) -> Answers:
    """Until ``count`` answers arrived: events of a ``wanted`` type, or their ``...failed``
    sibling (a failed answer counts: the function will not answer again).

    ``rows_after(seq)`` lists the task's events after ``seq``, oldest first; ``data_of``
    reads one event's data; ``on_line`` gets a line per event of the task (``line_of``
    writes it) and a heartbeat while nothing happens. WaitTimeout after ``timeout_s``."""
    failures = {failure_of(kind) for kind in wanted} - set(wanted)
    started = last_line = time.monotonic()
    answers, cursor = Answers(), after
    while answers.count < count:
        now = time.monotonic()
        if now - started > timeout_s:
            raise WaitTimeout(
                f"{answers.count} of {count} {' or '.join(wanted)} events within {timeout_s:.0f} s"
            )
        for row in rows_after(cursor):
            cursor = max(cursor, row["seq"])
            on_line(line_of(row, time.monotonic() - started))
            last_line = time.monotonic()
            kind = row["attributes"].get("type")
            if row["origin"] not in ("ingress", "reply") or answers.count >= count:
                continue
            if kind in wanted:
                row["data"] = data_of(row["seq"])
                answers.found.append(row)
            elif kind in failures:
                row["data"] = data_of(row["seq"])
                answers.failed.append(row)
        if answers.count < count:
            if time.monotonic() - last_line >= HEARTBEAT_S:
                elapsed = time.monotonic() - started
                on_line(f"  {elapsed:6.1f}s  still waiting ({answers.count} of {count})")
                last_line = time.monotonic()
            time.sleep(0.2)
    return answers

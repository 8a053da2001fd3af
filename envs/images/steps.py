"""Running the build's steps: one line per step with its time, each step's commands logged
to a file of its own (``.cache/images/logs/``), a failure that names the step (StepFailed),
and the JSON files the build keeps under ``.cache/images/``."""

from __future__ import annotations

import json
import re
import subprocess
import time
from pathlib import Path
from types import TracebackType
from typing import Any

REPO = Path(__file__).resolve().parents[2]
CACHE = REPO / ".cache" / "images"
LOGS = CACHE / "logs"


class StepFailed(Exception):
    """A step failed: ``what`` names the image, the architecture and the step."""

    def __init__(self, what: str, detail: str) -> None:
        super().__init__(f"{what}: {detail}")
        self.what, self.detail = what, detail


TIMINGS: dict[str, float] = {}


def say(line: str) -> None:
    """Print one line at once (the build's progress is read while it runs)."""
    print(line, flush=True)


def log_path(what: str) -> Path:
    """The log file of the step ``what``."""
    LOGS.mkdir(parents=True, exist_ok=True)
    return LOGS / (re.sub(r"[^A-Za-z0-9.-]+", "_", what).strip("_") + ".log")


def tail(path: Path, lines: int = 25) -> str:
    """The last ``lines`` lines of a log, indented; empty when there is none."""
    try:
        text = path.read_text(errors="replace").splitlines()
    except OSError:
        return ""
    return "\n".join("    " + line for line in text[-lines:])


def run(
    cmd: list[str],
    what: str,
    *,
    env: dict[str, str] | None = None,
    timeout: float | None = None,
    check: bool = True,
) -> subprocess.CompletedProcess[str]:
    """Run ``cmd``, its output to the log of ``what``; raise StepFailed naming ``what``."""
    log = log_path(what)
    with log.open("a") as out:
        out.write(f"$ {' '.join(cmd)}\n")
        out.flush()
        try:
            done = subprocess.run(
                cmd,
                stdout=subprocess.PIPE,
                stderr=out,
                stdin=subprocess.DEVNULL,
                text=True,
                env=env,
                timeout=timeout,
                cwd=REPO,
            )
        except subprocess.TimeoutExpired as expired:
            raise StepFailed(what, f"timed out after {timeout:.0f} s; log {log}") from expired
        except FileNotFoundError as missing:
            raise StepFailed(what, f"{cmd[0]} is not installed") from missing
        out.write(done.stdout)
    if check and done.returncode:
        raise StepFailed(
            what, f"exit {done.returncode}: {' '.join(cmd[:4])} …\n{tail(log)}\n  (log {log})"
        )
    return done


class Step:
    """``with Step("code-reviewer-agno amd64: build"):`` times a step and prints one line."""

    def __init__(self, what: str, note: str = "") -> None:
        self.what, self.note = what, note

    def __enter__(self) -> Step:
        self.started = time.monotonic()
        log_path(self.what).write_text("")
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        _trace: TracebackType | None,
    ) -> None:
        seconds = time.monotonic() - self.started
        if kind is None:
            TIMINGS[self.what] = round(seconds, 2)
            extra = f"  {self.note}" if self.note else ""
            say(f"    {self.what:<48} {seconds:7.1f} s{extra}")
        elif not isinstance(value, StepFailed):
            raise StepFailed(self.what, f"{kind.__name__}: {value}") from value


def podman(*args: str, what: str, **kw: Any) -> subprocess.CompletedProcess[str]:
    """``podman args...`` as a step's command (see :func:`run`)."""
    return run(["podman", *args], what, **kw)


def exists(image: str) -> bool:
    """Whether podman's storage holds ``image``."""
    return (
        subprocess.run(["podman", "image", "exists", image], stdin=subprocess.DEVNULL).returncode
        == 0
    )


def inspect(image: str) -> dict[str, Any]:
    """``podman image inspect`` of ``image``; StepFailed when it is not built."""
    done = subprocess.run(
        ["podman", "image", "inspect", image],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
    )
    if done.returncode:
        raise StepFailed(image, f"not built: {done.stderr.strip()}")
    return json.loads(done.stdout)[0]


def read_json(path: Path) -> dict[str, Any]:
    """The JSON object in ``path``; empty when the file is missing or not JSON."""
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def update_json(path: Path, data: dict[str, Any]) -> None:
    """Merge ``data`` (image → arch → ...) into the JSON file at ``path``."""
    old = read_json(path)
    for key, value in data.items():
        old.setdefault(key, {}).update(value)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(old, indent=2, sort_keys=True) + "\n")


def write_timings(total: float, name: str = "timings.json") -> None:
    """The steps' times of this run, and its total, to ``.cache/images/<name>``."""
    CACHE.mkdir(parents=True, exist_ok=True)
    TIMINGS["total"] = round(total, 1)
    (CACHE / name).write_text(json.dumps(TIMINGS, indent=2) + "\n")

"""``make run``: both code-reviewer variants review the sample repository, side by side."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import sys
import tempfile
import textwrap
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from binks import client
from binks.processes import start_platform
from binks.scripted_ollama import ScriptedOllama, review_script
from events import (
    REVIEW_COMPLETED,
    REVIEW_FAILED,
    REVIEW_REQUESTED,
    TASK_EXTENSION,
    VARIANT_EXTENSION,
)
from modelserver.selection import select
from shared.runtime.config import DEFAULT_MODEL, DEFAULT_OLLAMA_HOST, normalise_ollama_host

SAMPLE_REPOSITORY = "bench/sample-repo"

#: What the scripted model answers for the sample repository. It is canned: the
#: demo shows the chain (events, tools, frameworks), not a model's judgement.
SAMPLE_REVIEW = {
    "summary": "Scripted answer: five known bugs in the sample inventory service.",
    "findings": [
        {
            "path": "inventory.py",
            "line": 12,
            "severity": "medium",
            "message": "Mutable default argument 'tags': every call appends to one shared list.",
        },
        {
            "path": "inventory.py",
            "line": 15,
            "severity": "critical",
            "message": "SQL built with an f-string from 'sku': SQL injection. Use parameters.",
        },
        {
            "path": "inventory.py",
            "line": 25,
            "severity": "high",
            "message": "Off-by-one: a page returns size-1 items; drop the '- 1'.",
        },
        {
            "path": "inventory.py",
            "line": 28,
            "severity": "medium",
            "message": "ZeroDivisionError when the inventory is empty.",
        },
        {
            "path": "pricing.py",
            "line": 12,
            "severity": "high",
            "message": "The loop starts at index 1, so the first price is never added.",
        },
    ],
}


@dataclass(frozen=True)
class Result:
    """One variant's part of the demo, read back from the platform."""

    variant: str
    cold_start_s: float | None
    reply_s: float
    event_type: str
    data: dict[str, Any]


def send_review(url: str, repository: str, task: str) -> tuple[int, dict[str, str], dict]:
    """POST one binary-mode review request; return (status, headers, data)."""
    headers = {
        "Content-Type": "application/json",
        "ce-specversion": "1.0",
        "ce-id": str(uuid.uuid4()),
        "ce-source": "/binks/cli",
        "ce-type": REVIEW_REQUESTED,
        f"ce-{TASK_EXTENSION}": task,
    }
    body = json.dumps({"repository": repository, "max_findings": 10}).encode()
    request = urllib.request.Request(url, body, headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=600) as answer:
            return answer.status, dict(answer.headers), json.loads(answer.read() or b"{}")
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), json.loads(error.read() or b"{}")


def describe(result: Result) -> list[str]:
    """The lines of one column."""
    data = result.data
    cold = f"{result.cold_start_s:6.2f} s" if result.cold_start_s is not None else "   (warm)"
    lines = [
        f"code-reviewer-{result.variant}",
        f"cold start     {cold} (process spawn → ready)",
        f"reply after    {result.reply_s:6.2f} s (request accepted → reply accepted)",
        f"{result.event_type}",
        "",
    ]
    if "findings" in data:
        lines.append(f"summary: {data['summary']}")
        lines.append(f"findings ({len(data['findings'])}):")
        for finding in data["findings"]:
            where = f"{finding['path']}:{finding['line']}"
            lines.append(f"- [{finding['severity']}] {where} {finding['message']}")
    else:
        lines.append(f"{data.get('error', 'error')}: {data.get('reason', data)}")
    return lines


def side_by_side(left: list[str], right: list[str], width: int) -> str:
    """Two columns of wrapped text separated by a bar."""

    def wrap(lines: list[str]) -> list[str]:
        wrapped: list[str] = []
        for line in lines:
            wrapped.extend(textwrap.wrap(line, width, subsequent_indent="  ") or [""])
        return wrapped

    a, b = wrap(left), wrap(right)
    a += [""] * (len(b) - len(a))
    b += [""] * (len(a) - len(b))
    return "\n".join(f"{x:<{width}} │ {y}" for x, y in zip(a, b, strict=True))


def choose_model(scripted: bool) -> tuple[dict[str, str], Callable[[], None]]:
    """The functions' model environment and how to stop what we started for it."""
    model = os.environ.get("BINKS_MODEL", DEFAULT_MODEL)
    if scripted:
        server = ScriptedOllama(review_script(SAMPLE_REVIEW), model=model).start()
        print(f"==> model: the SCRIPTED Ollama-API server at {server.url} (canned answers)")
        return {"OLLAMA_HOST": server.url, "BINKS_MODEL": model}, server.stop
    asked = normalise_ollama_host(os.environ.get("OLLAMA_HOST", DEFAULT_OLLAMA_HOST))
    print(f"==> model: looking for an Ollama server at {asked} ...")
    chosen = select()
    if not chosen.embedded:
        print(f"==> model: Ollama at {chosen.url}, model {model!r}")
        return {"OLLAMA_HOST": chosen.url, "BINKS_MODEL": model}, chosen.stop
    print(f"==> model: none answers; started the EMBEDDED model server at {chosen.url}")
    print("    (gemma3:270m, a small base model: the chain is real, the review quality is not)")
    env = {
        "OLLAMA_HOST": chosen.url,
        "BINKS_MODEL": "gemma3:270m",
        "BINKS_STRUCTURED_ANSWER": "true",
    }
    return env, chosen.stop


def collect(platform: str, rows: list[dict[str, Any]], request: dict[str, Any]) -> list[Result]:
    cold = {row["service"]: row["cold_starts_s"] for row in _ps(platform)}
    results = []
    for row in sorted(rows, key=lambda r: r["attributes"].get(VARIANT_EXTENSION, "")):
        variant = row["attributes"].get(VARIANT_EXTENSION, "?")
        starts = cold.get(f"code-reviewer-{variant}") or [None]
        results.append(
            Result(
                variant,
                starts[0],
                row["accepted_at"] - request["accepted_at"],
                row["attributes"]["type"],
                json.loads(row["data"] or "{}"),
            )
        )
    return results


def _ps(platform: str) -> list[dict[str, Any]]:
    with urllib.request.urlopen(platform + "/_binks/ps", timeout=10) as answer:
        return json.load(answer)["services"]


def main(
    repository: str = SAMPLE_REPOSITORY,
    scripted: bool = False,
    port: int = 8470,
    keep_serving: bool | None = None,
) -> int:
    """Model + platform + one review request for both variants, through the broker."""
    env, stop_model = choose_model(scripted)
    platform = f"http://127.0.0.1:{port}"
    process = None
    try:
        state = tempfile.mkdtemp(prefix="binks-demo-")  # a fresh event log for every demo
        process = start_platform(port, "--state", state, env=env)
        after = client.last_seq(platform)
        sent = client.send(
            platform,
            "broker:default",
            REVIEW_REQUESTED,
            "/binks/cli",
            json.dumps({"repository": repository}).encode(),
            {},
        )
        print(
            f"==> published {REVIEW_REQUESTED} (no binksvariant: both variants take it), "
            f"binkstask={sent[TASK_EXTENSION]}; waiting for both replies ...",
            flush=True,
        )
        task = sent[TASK_EXTENSION]
        replies = client.wait_for(
            platform, (REVIEW_COMPLETED, REVIEW_FAILED), task, 900, after, count=2
        )
        request = next(
            r for r in client.events(platform, after) if r["attributes"]["id"] == sent["id"]
        )
        results = collect(platform, replies, request)
        width = max(40, (shutil.get_terminal_size((160, 40)).columns - 3) // 2)
        print()
        columns = [describe(result) for result in results] or [["no reply arrived"]]
        print(
            side_by_side(columns[0], columns[1], width)
            if len(columns) == 2
            else "\n".join(columns[0])
        )
        print()
        if keep_serving is None:
            keep_serving = sys.stdin.isatty()
        if keep_serving:
            print(
                f"The platform keeps serving on {platform}. Try, in another terminal:\n"
                f"  .venv/bin/binks send --type {REVIEW_REQUESTED} --field repository={repository}"
                f" --extension binksvariant=crewai --wait-for {REVIEW_COMPLETED}\n"
                "  .venv/bin/binks events --follow    .venv/bin/binks ps\n"
                "Ctrl-C stops everything.",
                flush=True,
            )
            with contextlib.suppress(KeyboardInterrupt):
                process.wait()
        return 0 if len(results) == 2 else 1
    finally:
        if process and process.poll() is None:
            process.send_signal(signal.SIGTERM)
            process.wait(60)
        stop_model()

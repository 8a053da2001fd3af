"""``make run``: both code-reviewer variants review the sample repository, side by side."""

from __future__ import annotations

import json
import os
import shutil
import textwrap
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from binks.processes import FunctionProcess, FunctionSpec
from binks.scripted_ollama import ScriptedOllama, review_script
from events import REVIEW_REQUESTED, TASK_EXTENSION, VARIANTS
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
    variant: str
    ready_s: float
    reply_s: float
    status: int
    event_type: str
    data: dict[str, Any]
    rss_mb: float


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


def run_variant(variant: str, env: dict[str, str], repository: str, task: str) -> Result:
    """Spawn one instance, wait for readiness, send the request, stop it."""
    with FunctionProcess(FunctionSpec("code_reviewer", variant), env=env) as instance:
        ready_s = instance.wait_ready()
        rss_mb = instance.rss_bytes() / 2**20
        status, headers, data = send_review(instance.url, repository, task)
        reply_s = time.monotonic() - instance.started
    lowered = {k.lower(): v for k, v in headers.items()}
    event_type = lowered.get("ce-type", "(no event)")
    return Result(variant, ready_s, reply_s, status, event_type, data, rss_mb)


def describe(result: Result) -> list[str]:
    """The lines of one column."""
    data = result.data
    lines = [
        f"code-reviewer-{result.variant}",
        f"ready after    {result.ready_s:6.2f} s from process start",
        f"reply after    {result.reply_s:6.2f} s from process start",
        f"idle memory    {result.rss_mb:6.1f} MiB RSS (gunicorn master + worker)",
        f"HTTP {result.status}  {result.event_type}",
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


def main(
    repository: str = SAMPLE_REPOSITORY,
    variants: tuple[str, ...] = VARIANTS,
    scripted: bool = False,
) -> int:
    env, stop_model = choose_model(scripted)
    task = f"demo-{uuid.uuid4().hex[:8]}"
    results = []
    try:
        for variant in variants:
            print(f"==> starting code-reviewer-{variant}, sending one {REVIEW_REQUESTED} ...")
            results.append(run_variant(variant, env, repository, task))
    finally:
        stop_model()
    width = max(40, (shutil.get_terminal_size((160, 40)).columns - 3) // 2)
    print()
    if len(results) == 2:
        print(side_by_side(describe(results[0]), describe(results[1]), width))
    else:
        print("\n".join(describe(results[0])))
    print()
    print("Spawn and memory figures are single runs; `binks bench` measures them properly.")
    return 0 if all(r.status == 200 for r in results) else 1

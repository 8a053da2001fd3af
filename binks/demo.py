"""``make run``: both code-reviewer variants review the sample repository, side by side."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import sys
import tempfile
import textwrap
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from binks import client, waiting
from events import (
    CLUSTER_INSPECT_REQUESTED,
    CLUSTER_JOB_REQUESTED,
    REPORT_PUBLISHED,
    RESULTS_OF,
    REVIEW_COMPLETED,
    REVIEW_REQUESTED,
    TASK_EXTENSION,
    TASK_FAILED,
    TASK_PLANNED,
    TASK_REQUESTED,
    VARIANT_EXTENSION,
    VARIANTS,
)
from localknative import credential
from localknative.launch import start_platform
from modelserver.sample_answers import sample_team
from modelserver.scripted import ScriptedOllama
from modelserver.selection import select
from shared.defaults import DEFAULT_MODEL, DEFAULT_OLLAMA_HOST, normalise_ollama_host

SAMPLE_REPOSITORY = "sample-repo"


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
    if scripted:
        model = os.environ.get("BINKS_MODEL", DEFAULT_MODEL)
        server = ScriptedOllama(sample_team(), model=model).start()
        print(f"==> model: the SCRIPTED Ollama-API server at {server.url} (canned answers)")
        # each function its own path on the server: the path picks its role's answers
        return {"OLLAMA_HOST": server.url_per_service, "BINKS_MODEL": model}, server.stop
    asked = normalise_ollama_host(os.environ.get("OLLAMA_HOST", DEFAULT_OLLAMA_HOST))
    print(f"==> model: looking for an Ollama server at {asked} ...")
    chosen = select()
    env = chosen.functions_env()
    if not chosen.embedded:
        print(f"==> model: Ollama at {chosen.url}, model {env['BINKS_MODEL']!r}")
        return env, chosen.stop
    print(f"==> model: none answers; started the EMBEDDED model server at {chosen.url}")
    print(
        "    gemma3:270m, a 270M-parameter model on the CPU: every hop is real, the judgement\n"
        "    is weak. Expect a few findings, some of them wrong, and terse summaries; an answer\n"
        "    that copies its prompt is refused and its step says 'failed: <why>'. The reports'\n"
        "    tables are written from the events, not by the model. For real reviews: ollama\n"
        "    serve + OLLAMA_HOST, BINKS_MODEL (e.g. qwen2.5:7b)."
    )
    return env, chosen.stop


GOAL = "Review the sample repository for bugs and check that the demo's services are healthy."
#: The work steps of a chain: (row, function, the event that asks for it).
WORK = (
    ("code-reviewer", "code-reviewer", REVIEW_REQUESTED),
    ("cluster-operator: inspect", "cluster-operator", CLUSTER_INSPECT_REQUESTED),
    ("cluster-operator: Job", "cluster-operator", CLUSTER_JOB_REQUESTED),
)
#: The chain, step by step: (row, function, the events that start it, the events that end it).
STEPS = (
    ("orchestrator", "orchestrator", (TASK_REQUESTED,), (TASK_PLANNED, TASK_FAILED)),
    *((row, function, (request,), RESULTS_OF[request]) for row, function, request in WORK),
    (
        "reporter",
        "reporter",
        (TASK_PLANNED, TASK_FAILED, *(t for results in RESULTS_OF.values() for t in results)),
        (REPORT_PUBLISHED,),
    ),
)


class Hops:
    """Each event of the demo's task as a hop of its chain, for the live view: the
    function that sent it, whether that answer needed a cold start, how long since the
    function's request, and the outcome (a failure with its reason)."""

    def __init__(self, platform: client.Platform) -> None:
        self.platform = platform
        self.seen: list[dict[str, Any]] = []
        self.cold_shown: dict[str, int] = {}

    def __call__(self, row: dict[str, Any], elapsed_s: float) -> str:
        previous = self.seen[-1] if self.seen else None
        self.seen.append(row)
        attributes = row["attributes"]
        source = str(attributes.get("source", ""))
        if not source.startswith("/binks/functions/"):
            return waiting.progress_line(row, elapsed_s)  # a request from a person
        service = source.rsplit("/", 1)[-1]
        kind = str(attributes.get("type"))
        same_answer = previous is not None and previous["attributes"].get("source") == source
        start = "" if same_answer else self._start(service)
        took = "" if same_answer else self._took(row, service)
        outcome = "ok"
        if kind.endswith(".failed"):
            data = json.loads(client.event_data(self.platform, row["seq"]) or b"{}")
            outcome = f"FAILED: {str(data.get('reason', 'no reason given'))[:160]}"
        return f"  {elapsed_s:6.1f}s  {service:<24} {start:<11} {took:>8}  {kind}  {outcome}"

    def _start(self, service: str) -> str:
        """``cold 3.1 s`` when the service has a cold start not shown yet, else ``warm``."""
        cold = next(
            (row["cold_starts_s"] for row in client.ps(self.platform) if row["service"] == service),
            [],
        )
        shown = self.cold_shown.get(service, 0)
        if len(cold) > shown:
            self.cold_shown[service] = len(cold)
            return f"cold {cold[-1]:.1f} s"
        return "warm"

    def _took(self, row: dict[str, Any], service: str) -> str:
        """Seconds since the newest event before ``row`` that asks this function."""
        function, variant = service.rsplit("-", 1)
        starts = {t for _, f, began, _ in STEPS if f == function for t in began}
        asked = [
            e["accepted_at"]
            for e in self.seen[:-1]
            if e["attributes"].get("type") in starts
            and e["attributes"].get(VARIANT_EXTENSION) in (variant, None)
        ]
        return f"{row['accepted_at'] - max(asked):.1f} s" if asked else "-"


def timings(events: list[dict[str, Any]], services: list[dict[str, Any]]) -> list[list[str]]:
    """Rows of the per-function table: cold start and time in the chain, both variants."""
    cold = {row["service"]: row["cold_starts_s"] for row in services}
    rows, shown = [], set()
    for label, function, starts, ends in STEPS:
        row = [label]
        for variant in VARIANTS:
            mine = [e for e in events if e["attributes"].get(VARIANT_EXTENSION) in (variant, None)]
            began = [e["accepted_at"] for e in mine if e["attributes"]["type"] in starts]
            ended = [
                e["accepted_at"]
                for e in mine
                if e["attributes"]["type"] in ends
                and e["attributes"].get(VARIANT_EXTENSION) == variant
            ]
            spawn = cold.get(f"{function}-{variant}") or []
            if not began:  # this chain never asked for this function
                row += ["not run", "-"]
                continue
            if (function, variant) in shown:
                row.append("(above)")  # one service, one cold start: counted once
            else:
                row.append(f"{spawn[0]:.2f} s" if spawn else "warm")
                shown.add((function, variant))
            if function == "reporter" and began and ended:
                row.append(f"{ended[0] - max(b for b in began if b <= ended[0]):.2f} s")
            elif began and ended:
                row.append(f"{ended[0] - min(began):.2f} s")
            else:
                row.append("-")
        rows.append(row)
    return rows


def table(rows: list[list[str]]) -> str:
    head = [
        "function",
        "agno cold start",
        "agno event → reply",
        "crewai cold start",
        "crewai event → reply",
    ]
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]
    lines = [
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True))
        for row in [head, *rows]
    ]
    return "\n".join(lines)


def main(
    repository: str = SAMPLE_REPOSITORY,
    scripted: bool = False,
    port: int = 8470,
    keep_serving: bool | None = None,
) -> int:
    """Model + platform + one task through all four roles, both variants, via the broker."""
    env, stop_model = choose_model(scripted)
    env |= {"BINKS_CLUSTER": "local", "BINKS_ALLOWED_NAMESPACES": "default"}
    running = None
    state = Path(tempfile.mkdtemp(prefix="binks-demo-"))  # a fresh event log every time
    try:
        try:
            running = start_platform(state, port=port, env=env)
        except OSError as problem:  # taken: never publish into someone else's platform
            print(
                f"==> 127.0.0.1:{port}: {problem.strerror} (another binks up?); the demo "
                "takes a free port instead",
                flush=True,
            )
            running = start_platform(state, port=0, env=env)
        print(f"==> platform on {running.url} (started by this demo)", flush=True)
        print(
            f"==> dashboard: {credential.dashboard_url(running.url, running.token)}\n"
            "    (open it in a browser: both chains live, side by side; read-only)",
            flush=True,
        )
        platform = client.Platform(running.url, state)
        request = {"goal": GOAL, "repository": repository, "namespace": "default"}
        sent = client.send(
            platform,
            "broker:default",
            TASK_REQUESTED,
            "/binks/cli",
            json.dumps(request).encode(),
            {},
        )
        task = sent[TASK_EXTENSION]
        print(
            f"==> published {TASK_REQUESTED} (no binksvariant: one chain per variant), "
            f"binkstask={task}\n    orchestrator → code reviewer + cluster operator (inspection, "
            "a Job) → reporter;"
            " waiting for both reports; the task's events as they happen\n"
            "    (time, function, cold start or warm, seconds since its request, event, outcome):",
            flush=True,
        )
        reports = client.wait_for(
            platform,
            REPORT_PUBLISHED,
            task,
            1800,
            count=2,
            on_line=lambda line: print(line, flush=True),
            line_of=Hops(platform),
        ).found
        reports.sort(key=lambda r: r["attributes"].get(VARIANT_EXTENSION, ""))
        width = max(40, (shutil.get_terminal_size((160, 40)).columns - 3) // 2)
        columns = [json.loads(r["data"])["markdown"].splitlines() for r in reports]
        print()
        print(side_by_side(columns[0], columns[1], width))
        chain = list(client.all_events(platform, task=task))
        print()
        print(table(timings(chain, client.ps(platform))))
        print(
            "\ncold start: process spawn → ready (both chains start their instances at once on "
            "this machine's cores;\n`binks bench` measures each alone). event → reply: the "
            "function's event accepted → its answer accepted by the broker."
        )
        if keep_serving is None:
            keep_serving = sys.stdin.isatty()
        if keep_serving:
            print(
                f"\nThe platform keeps serving on {platform.url} (state, credential: {state}). "
                "Try, in another terminal:\n"
                f"  export BINKS_STATE={state}    # where the CLI finds the platform's credential\n"
                f"  .venv/bin/binks send --type {TASK_REQUESTED} --field goal='Review it' "
                f"--field repository={repository} --wait-for {REPORT_PUBLISHED} --count 2\n"
                f"  .venv/bin/binks send --type {REVIEW_REQUESTED} --field repository={repository}"
                f" --extension binksvariant=crewai --wait-for {REVIEW_COMPLETED}\n"
                "  .venv/bin/binks events --follow    .venv/bin/binks ps\n"
                f'  curl -H "Authorization: Bearer $(cat {state}/credential)" '
                f"{platform.url}/metrics\n"
                f"The dashboard: {credential.dashboard_url(running.url, running.token)}\n"
                "Ctrl-C stops everything.",
                flush=True,
            )
            with contextlib.suppress(KeyboardInterrupt):
                running.process.wait()
        return 0
    finally:
        if running:
            running.stop()
        stop_model()
        shutil.rmtree(state, ignore_errors=True)  # its event log, logs and credential

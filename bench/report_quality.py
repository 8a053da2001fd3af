"""How readable the chain's reports are with the embedded model, over several fresh runs.

Each run is what ``make run`` does: a fresh embedded model server, a fresh platform with
an empty event log, one task published to the broker, both variants' chains to their
reports. Then each variant's report and review are read for:

- **placeholder text**: template slots copied from a prompt (``<one or two sentences>``)
  or a model server's instruction to the model, in what the chain presents as content:
  every string of its events except failure ``reason`` fields and the report's Markdown
  (built from those same fields; a reason is the runtime's diagnosis and may quote the
  answer it refused: "it copies its prompt instead of answering: '<file>'");
- **repeated sentences**: a sentence the model wrote twice or more in one report
  (summaries, findings, observations: the text the model wrote, not the report's frame);
- **located findings**: a review with at least one finding whose path exists in the
  sample repository and whose line is within that file;
- **known bugs**: a review with at least one finding within one line of a bug the sample
  repository is known to have (the five the scripted review lists). Located is not
  right: this is the nearest to "right" a count can get without reading the messages.

``python -m bench.report_quality --runs 5`` writes ``bench/results/<time>-report-quality.json``
and prints the counts. Quality, not speed: nothing here is timed against a target.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
import uuid
from collections import Counter
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from modelserver.sample_answers import SAMPLE_REVIEW
from shared.answers import strings_in

REPO = Path(__file__).resolve().parent.parent
SAMPLE = REPO / "workspace" / "sample-repo"
RESULTS = REPO / "bench" / "results"
GOAL = "Review the sample repository for bugs and check that the demo's services are healthy."

#: A template slot (``<one or two sentences>``, ``<file>``) or an instruction meant for the
#: model; either reaching an event means the model copied its prompt.
PLACEHOLDER = re.compile(
    r"<[a-z][^<>\n]{0,60}>|No more tool calls are possible|Answer with exactly one JSON object"
    r"|answer with ONLY one JSON object",
    re.IGNORECASE,
)
#: An empty format slot (``The team did {} for their task``): placeholder text in a
#: summary; in a finding's message ``{}`` may be the code under review.
EMPTY_SLOT = re.compile(r"\{\s*\}")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+")
MIN_SENTENCE = 12  # shorter fragments ("None.", "OK.") repeat innocently
#: (path, line) of each known bug of the sample repository.
KNOWN_BUGS = tuple((f["path"], f["line"]) for f in SAMPLE_REVIEW["findings"])


def placeholders(texts: Iterable[str], summaries: Iterable[str] = ()) -> list[str]:
    """The placeholder snippets found in ``texts``, and empty ``{}`` slots in
    ``summaries`` (empty: none)."""
    found = [match.group(0) for text in texts for match in PLACEHOLDER.finditer(text)]
    return found + [m.group(0) for text in summaries for m in EMPTY_SLOT.finditer(text)]


def sentences(text: str) -> list[str]:
    """``text`` split into normalised sentences of at least ``MIN_SENTENCE`` characters."""
    parts = (re.sub(r"\s+", " ", part).strip().lower() for part in _SENTENCE_END.split(text))
    return [part for part in parts if len(part) >= MIN_SENTENCE]


def repeated_sentences(texts: Iterable[str]) -> list[str]:
    """Sentences occurring more than once across ``texts``."""
    counts = Counter(sentence for text in texts for sentence in sentences(text))
    return sorted(sentence for sentence, n in counts.items() if n > 1)


def located(finding: Mapping[str, Any], root: Path = SAMPLE) -> bool:
    """Whether the finding's path is a file of the sample repository and its line exists."""
    path = (root / str(finding.get("path", ""))).resolve()
    if not path.is_relative_to(root.resolve()) or not path.is_file():
        return False
    line = finding.get("line")
    return isinstance(line, int) and 1 <= line <= len(path.read_text().splitlines())


def near_known_bug(finding: Mapping[str, Any]) -> bool:
    """Whether the finding points within one line of a known bug of the sample."""
    line = finding.get("line")
    return isinstance(line, int) and any(
        finding.get("path") == path and abs(line - known) <= 1 for path, known in KNOWN_BUGS
    )


def summaries(events: Mapping[str, Any]) -> list[str]:
    """The summaries the model wrote in one chain."""
    kinds = ("report.published", "review.completed", "cluster.inspect.completed")
    return [
        str((events.get(f"dev.binks.{kind}") or {}).get("summary", ""))
        for kind in kinds
        if events.get(f"dev.binks.{kind}")
    ]


def model_written(events: Mapping[str, Any]) -> list[str]:
    """The text the model wrote in one chain: summaries, findings, observations."""
    texts = []
    report = events.get("dev.binks.report.published") or {}
    texts.append(report.get("summary", ""))
    review = events.get("dev.binks.review.completed") or {}
    texts.append(review.get("summary", ""))
    texts += [f.get("message", "") for f in review.get("findings", [])]
    inspect = events.get("dev.binks.cluster.inspect.completed") or {}
    texts.append(inspect.get("summary", ""))
    texts += [o.get("message", "") for o in inspect.get("observations", [])]
    plan = events.get("dev.binks.task.planned") or {}
    texts.append(plan.get("summary", ""))
    return [text for text in texts if text]


def assess(events: Mapping[str, Any]) -> dict[str, Any]:
    """One variant's chain, by event type → data, read for the three counts."""
    report = events.get("dev.binks.report.published") or {}
    review = events.get("dev.binks.review.completed")
    findings = (review or {}).get("findings", [])
    every_text = [
        text
        for data in events.values()
        if isinstance(data, Mapping)
        for key, value in data.items()
        if key not in ("reason", "markdown")
        for text in strings_in(value)
    ]
    return {
        "report": bool(report),
        "placeholders": placeholders(every_text, summaries(events)),
        "repeated": repeated_sentences(model_written(events)),
        "review": "completed"
        if review
        else "failed"
        if events.get("dev.binks.review.failed")
        else "missing",
        "review_reason": (events.get("dev.binks.review.failed") or {}).get("reason", ""),
        "findings": len(findings),
        "located_findings": sum(located(f) for f in findings),
        "known_bug_findings": sum(near_known_bug(f) for f in findings),
        "steps": [f"{s.get('type')}: {s.get('status')}" for s in report.get("steps", [])],
        "events": dict(events),  # each event's data: the counts can be re-derived later
    }


def _control(platform: Any, path: str) -> bytes:
    """GET one control API path of ``platform`` (a RunningPlatform), with its credential."""
    request = urllib.request.Request(platform.url + path, headers=platform.auth())
    with urllib.request.urlopen(request, timeout=60) as answer:
        return answer.read()


def task_events(platform: Any, task: str) -> list[dict[str, Any]]:
    """Every event of ``task`` in the platform's log (one page: a task has a few dozen)."""
    query = urllib.parse.urlencode({"task": task, "limit": 500})
    return json.loads(_control(platform, f"/_binks/events?{query}"))["events"]


def publish_task(platform: Any) -> str:
    """POST the demo's task to the broker as a binary-mode CloudEvent; its task id."""
    task = str(uuid.uuid4())
    headers = {
        "Content-Type": "application/json",
        "ce-specversion": "1.0",
        "ce-id": task,
        "ce-source": "/binks/quality",
        "ce-type": "dev.binks.task.requested",
        "ce-binkstask": task,
    }
    body = {"goal": GOAL, "repository": "sample-repo", "namespace": "default"}
    request = urllib.request.Request(
        f"{platform.url}/default/default", json.dumps(body).encode(), headers, method="POST"
    )
    with urllib.request.urlopen(request, timeout=60) as answer:
        answer.read()
    return task


def wait_for_reports(platform: Any, task: str, timeout_s: float) -> None:
    """Until both variants published their report (polling the event log)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        kinds = [row["attributes"]["type"] for row in task_events(platform, task)]
        if kinds.count("dev.binks.report.published") >= 2:
            return
        time.sleep(1)
    raise TimeoutError(f"no two reports for task {task} within {timeout_s:.0f} s")


def chain_events(platform: Any, task: str) -> dict[str, dict[str, Any]]:
    """variant → (event type → data) for every event of ``task`` (the first of each type)."""
    chains: dict[str, dict[str, Any]] = {}
    for row in task_events(platform, task):
        variant = row["attributes"].get("binksvariant")
        if variant is None:
            continue
        data = json.loads(_control(platform, f"/_binks/events/{row['seq']}/data") or b"null")
        chains.setdefault(variant, {}).setdefault(row["attributes"]["type"], data)
    return chains


def one_run(timeout_s: float) -> dict[str, Any]:
    """A fresh model server and platform, one task through both chains; the assessment."""
    from localknative.launch import start_platform
    from modelserver.selection import start_embedded

    state = Path(tempfile.mkdtemp(prefix="binks-quality-"))
    model = start_embedded(log=subprocess.DEVNULL)
    running = None
    started = time.monotonic()
    try:
        env = {**model.functions_env(), "BINKS_CLUSTER": "local"}
        env["BINKS_ALLOWED_NAMESPACES"] = "default"
        running = start_platform(state, env=env, log=subprocess.DEVNULL)
        task = publish_task(running)
        wait_for_reports(running, task, timeout_s)
        chains = chain_events(running, task)
    finally:
        if running:
            running.stop()
        model.stop()
        shutil.rmtree(state, ignore_errors=True)
    return {
        "seconds": round(time.monotonic() - started, 1),
        "variants": {variant: assess(events) for variant, events in sorted(chains.items())},
    }


def totals(runs: list[dict[str, Any]]) -> dict[str, dict[str, int]]:
    """Per variant: reports, reports with placeholders or repetition, located reviews."""
    out: dict[str, dict[str, int]] = {}
    for run in runs:
        for variant, seen in run["variants"].items():
            row = out.setdefault(
                variant,
                {
                    "reports": 0,
                    "with_placeholders": 0,
                    "with_repeated_sentences": 0,
                    "reviews_completed": 0,
                    "reviews_with_located_finding": 0,
                    "reviews_with_known_bug": 0,
                },
            )
            row["reports"] += seen["report"]
            row["with_placeholders"] += bool(seen["placeholders"])
            row["with_repeated_sentences"] += bool(seen["repeated"])
            row["reviews_completed"] += seen["review"] == "completed"
            row["reviews_with_located_finding"] += seen["located_findings"] > 0
            row["reviews_with_known_bug"] += seen.get("known_bug_findings", 0) > 0
    return out


def table(counts: dict[str, dict[str, int]], runs: int) -> str:
    """The counts as a Markdown table."""
    head = (
        "| variant | reports | with placeholder text | with repeated sentences "
        "| reviews completed | reviews with ≥ 1 located finding | reviews with ≥ 1 known bug |"
    )
    lines = [head, "|---|---|---|---|---|---|---|"]
    for variant, row in sorted(counts.items()):
        lines.append(
            f"| {variant} | {row['reports']}/{runs} | {row['with_placeholders']} "
            f"| {row['with_repeated_sentences']} | {row['reviews_completed']}/{runs} "
            f"| {row['reviews_with_located_finding']}/{runs} "
            f"| {row.get('reviews_with_known_bug', 0)}/{runs} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.report_quality", description=__doc__)
    parser.add_argument("--runs", type=int, default=5, help="fresh runs (default 5)")
    parser.add_argument("--timeout", type=float, default=1800, help="seconds per run")
    parser.add_argument("--label", default="", help="a word for the results file name")
    parser.add_argument("--out", type=Path, default=RESULTS, help="results folder")
    args = parser.parse_args(argv)
    runs = []
    for n in range(1, args.runs + 1):
        print(f"==> run {n}/{args.runs}: fresh model server and platform", flush=True)
        run = one_run(args.timeout)
        for variant, seen in run["variants"].items():
            print(
                f"    {variant}: review {seen['review']}, {seen['findings']} findings "
                f"({seen['located_findings']} located, {seen['known_bug_findings']} at a known "
                f"bug), placeholders {seen['placeholders'][:3]}, "
                f"repeated {len(seen['repeated'])}",
                flush=True,
            )
        runs.append(run)
    counts = totals(runs)
    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
    name = f"{stamp}-report-quality{'-' + args.label if args.label else ''}.json"
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / name).write_text(json.dumps({"runs": runs, "totals": counts}, indent=1) + "\n")
    print(table(counts, args.runs))
    print(f"==> wrote {args.out / name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

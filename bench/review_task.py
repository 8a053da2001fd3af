"""The code-review task with the embedded model, as the seed breaks it down:
spawn (process → ready), run (review request → findings, on the fresh instance) and
report (the reporter turns the findings into the published report, model summary
included). Both variants, the same sample repository and model, interleaved.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from bench.functions import order, post_event
from bench.probes import spread
from events import REVIEW_COMPLETED, REVIEW_REQUESTED, TASK_PLANNED, VARIANTS
from localknative.instances import FunctionProcess, FunctionSpec
from modelserver.selection import start_embedded
from shared.defaults import DEFAULT_MODEL

REPOSITORY = "sample-repo"


def _post(url: str, event_type: str, data: dict, task: str) -> tuple[float, dict, dict]:
    return post_event(url, event_type, data, task=task, timeout_s=900)


def one_task(variant: str, env: dict[str, str]) -> dict[str, Any]:
    """Spawn the reviewer, review, then have a warm reporter publish the report."""
    task = f"bench-review-{uuid.uuid4().hex[:8]}"
    reporter = FunctionProcess(FunctionSpec("reporter", variant), env=env).start()
    try:
        reporter.wait_ready()
        with FunctionProcess(FunctionSpec("code_reviewer", variant), env=env) as reviewer:
            spawn_s = reviewer.wait_ready()
            run_s, headers, review = _post(
                reviewer.url, REVIEW_REQUESTED, {"repository": REPOSITORY}, task
            )
        if headers.get("ce-type") != REVIEW_COMPLETED:
            return {"spawn_s": spawn_s, "run_s": run_s, "report_s": None, "outcome": "failed"}
        plan = {
            "goal": "Review the sample repository.",
            "summary": "one review",
            "steps": [{"type": REVIEW_REQUESTED, "why": "a repository"}],
            "model": env["BINKS_MODEL"],
            "variant": variant,
        }
        _post(reporter.url, TASK_PLANNED, plan, task)
        report_s, headers, _ = _post(reporter.url, REVIEW_COMPLETED, review, task)
        outcome = "reported" if headers.get("ce-type") else "no report"
        findings = len(review.get("findings", []))
        return {
            "spawn_s": spawn_s,
            "run_s": run_s,
            "report_s": report_s,
            "outcome": outcome,
            "findings": findings,
        }
    finally:
        reporter.stop()


def measure(runs: int, step: Callable[[str], None]) -> dict[str, Any]:
    """``runs`` tasks per variant, alternating which variant goes first."""
    samples: dict[str, list[dict[str, Any]]] = {v: [] for v in VARIANTS}
    with start_embedded() as model:
        env = model.functions_env()  # the embedded model, with structured answers
        for n in range(1, runs + 1):
            for variant in order(n):
                samples[variant].append(one_task(variant, env))
                step(f"review task {variant}")
                step(f"report {variant}")
    summary = {}
    for variant, rows in samples.items():
        summary[variant] = {
            key: spread([r[key] for r in rows if r.get(key) is not None])
            for key in ("spawn_s", "run_s", "report_s")
            if any(r.get(key) is not None for r in rows)
        }
    return {"model": f"{DEFAULT_MODEL} (embedded)", "samples": samples, "summary": summary}

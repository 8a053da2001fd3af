"""``dev.binks.cluster.job.requested``: start an allow-listed worker as a Job, wait a
bounded while, report how it stands. No model: the request already says what to run,
and the same policy as the ``spawn_job`` tool decides whether it may.

Redelivery-safe: the Job's name derives from the task and the variant, so a second
delivery of the same request finds the Job it started instead of starting another.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Mapping
from typing import Any

from events import CLUSTER_JOB_COMPLETED, CLUSTER_JOB_FAILED
from functions.cluster_operator.backends import JobExists
from functions.cluster_operator.config import OperatorConfig
from functions.cluster_operator.policy import Refused
from functions.cluster_operator.tools import job_manifest
from shared.role import Context, Reply, failure

LOG_LINES = 200
POLL_S = 0.25


def job_name(data: Mapping[str, Any], context: Context) -> str:
    """``<name>-<variant>-<hash of task>``: one Job per request and variant."""
    digest = hashlib.sha256(f"{context.task}|{data['image']}".encode()).hexdigest()[:6]
    return f"{data.get('name') or 'job'}-{context.variant}-{digest}"


def run_job(
    data: Mapping[str, Any],
    context: Context,
    config: OperatorConfig,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> Reply:
    """Start the Job (or find it), wait for it at most ``config.job_wait_s``, and answer
    with its outcome and log tail. No model: the request already says what to run."""
    name = job_name(data, context)
    backend, policy = config.backend, config.policy

    def failed(error: str, reason: str) -> Reply:
        common = {"namespace": data["namespace"], "name": name, "variant": context.variant}
        return failure(CLUSTER_JOB_FAILED, common, error, reason)

    if backend is None:
        return failed("no_cluster", "no Kubernetes config and no local platform")
    started = clock()
    try:
        namespace = policy.namespace(data["namespace"])
        manifest = job_manifest(policy, namespace, name, data["image"], data.get("args", []))
    except Refused as refused:
        return failed("refused", str(refused))
    try:
        backend.create_job(namespace, manifest)
    except JobExists:
        pass  # a redelivery: report on the Job the first delivery started
    except Exception as problem:  # the cluster's answer, whatever it is
        return failed("job_not_created", f"{type(problem).__name__}: {str(problem)[:500]}")
    limit = started + config.job_wait_s
    while True:
        status = backend.job_status(namespace, name)
        outcome = _outcome(status)
        if outcome != "running" or clock() >= limit:
            break
        sleep(POLL_S)
    logs = backend.job_logs(namespace, name, LOG_LINES)[-20_000:]
    result = {
        "namespace": namespace,
        "name": name,
        "image": data["image"],
        "outcome": outcome,
        "active": status["active"],
        "succeeded": status["succeeded"],
        "failed": status["failed"],
        "conditions": status["conditions"][:10],
        "logs": logs,
        "elapsed_ms": round((clock() - started) * 1000),
        "variant": context.variant,
    }
    return Reply(CLUSTER_JOB_COMPLETED, result)


def _outcome(status: Mapping[str, Any]) -> str:
    conditions = status.get("conditions") or []
    if status.get("succeeded") or "Complete=True" in conditions:
        return "succeeded"
    if "Failed=True" in conditions:
        return "failed"
    return "running"

"""Names of the contract: event types, extension attributes, the source convention."""

from __future__ import annotations

from typing import Final

from shared.variants import NAMES

#: A user (or the orchestrator) asks for a review.
REVIEW_REQUESTED: Final = "dev.binks.review.requested"
#: The code reviewer's findings.
REVIEW_COMPLETED: Final = "dev.binks.review.completed"
#: The review ran but produced no valid result.
REVIEW_FAILED: Final = "dev.binks.review.failed"

#: A person's goal for the team; the orchestrator plans it.
TASK_REQUESTED: Final = "dev.binks.task.requested"
#: The orchestrator's plan: the work events it sent (for the reporter).
TASK_PLANNED: Final = "dev.binks.task.planned"
#: The orchestrator could not plan.
TASK_FAILED: Final = "dev.binks.task.failed"
#: Work for the cluster operator: look at a namespace.
CLUSTER_INSPECT_REQUESTED: Final = "dev.binks.cluster.inspect.requested"

#: The cluster operator's answer, or why there is none.
CLUSTER_INSPECT_COMPLETED: Final = "dev.binks.cluster.inspect.completed"
CLUSTER_INSPECT_FAILED: Final = "dev.binks.cluster.inspect.failed"
#: Work for the cluster operator: run a worker as a Job (allow-listed images only).
CLUSTER_JOB_REQUESTED: Final = "dev.binks.cluster.job.requested"
#: The Job ran (succeeded, failed or still running at the wait's end), or could not start.
CLUSTER_JOB_COMPLETED: Final = "dev.binks.cluster.job.completed"
CLUSTER_JOB_FAILED: Final = "dev.binks.cluster.job.failed"
#: The reporter's report of one task in one variant.
REPORT_PUBLISHED: Final = "dev.binks.report.published"
#: What a Knative PingSource sends on its schedule; the reporter's clock for deadlines.
PING: Final = "dev.knative.sources.ping"

#: For each work request, the events that answer it.
RESULTS_OF: Final = {
    REVIEW_REQUESTED: (REVIEW_COMPLETED, REVIEW_FAILED),
    CLUSTER_INSPECT_REQUESTED: (CLUSTER_INSPECT_COMPLETED, CLUSTER_INSPECT_FAILED),
    CLUSTER_JOB_REQUESTED: (CLUSTER_JOB_COMPLETED, CLUSTER_JOB_FAILED),
}

#: The event each role is invoked with when none is named (``binks invoke``, the bench):
#: one that makes it answer. The reporter answers a failed plan at once.
INVOKED_WITH: Final = {
    "code_reviewer": REVIEW_REQUESTED,
    "orchestrator": TASK_REQUESTED,
    "cluster_operator": CLUSTER_INSPECT_REQUESTED,
    "reporter": TASK_FAILED,
}

EVENT_TYPES: Final = (
    REVIEW_REQUESTED,
    REVIEW_COMPLETED,
    REVIEW_FAILED,
    TASK_REQUESTED,
    TASK_PLANNED,
    TASK_FAILED,
    CLUSTER_INSPECT_REQUESTED,
    CLUSTER_INSPECT_COMPLETED,
    CLUSTER_INSPECT_FAILED,
    CLUSTER_JOB_REQUESTED,
    CLUSTER_JOB_COMPLETED,
    CLUSTER_JOB_FAILED,
    REPORT_PUBLISHED,
    PING,
)

#: Extension naming the framework variant. On a request: only that variant handles
#: it (absent: both do). On a reply: the variant that produced it.
VARIANT_EXTENSION: Final = "binksvariant"
#: Correlation id of one task; copied from request to reply so chains never mix.
TASK_EXTENSION: Final = "binkstask"

#: The framework variants (their registry: ``shared.variants``).
VARIANTS: Final = NAMES


def function_source(service: str) -> str:
    """Return the ``source`` a function puts on the events it emits.

    Convention: ``/binks/functions/<knative-service-name>``, e.g.
    ``/binks/functions/code-reviewer-agno``. Requests from people use any
    URI-reference they like; the CLI uses ``/binks/cli``.
    """
    return f"/binks/functions/{service}"

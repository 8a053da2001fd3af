"""Names of the contract: event types, extension attributes, the source convention."""

from __future__ import annotations

from typing import Final

#: A user (or the orchestrator) asks for a review.
REVIEW_REQUESTED: Final = "dev.binks.review.requested"
#: The code reviewer's findings.
REVIEW_COMPLETED: Final = "dev.binks.review.completed"
#: The review ran but produced no valid result.
REVIEW_FAILED: Final = "dev.binks.review.failed"

EVENT_TYPES: Final = (REVIEW_REQUESTED, REVIEW_COMPLETED, REVIEW_FAILED)

#: Extension naming the framework variant. On a request: only that variant handles
#: it (absent: both do). On a reply: the variant that produced it.
VARIANT_EXTENSION: Final = "binksvariant"
#: Correlation id of one task; copied from request to reply so chains never mix.
TASK_EXTENSION: Final = "binkstask"

VARIANTS: Final = ("agno", "crewai")


def function_source(service: str) -> str:
    """Return the ``source`` a function puts on the events it emits.

    Convention: ``/binks/functions/<knative-service-name>``, e.g.
    ``/binks/functions/code-reviewer-agno``. Requests from people use any
    URI-reference they like; the CLI uses ``/binks/cli``.
    """
    return f"/binks/functions/{service}"

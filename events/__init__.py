"""The Binks event contract: event types, extension attributes and data schemas.

The JSON Schemas in ``events/schemas/`` are the single source of truth for every
event's ``data``; this package only loads them and checks data against them.
"""

from events.catalog import (
    CLUSTER_INSPECT_COMPLETED,
    CLUSTER_INSPECT_FAILED,
    CLUSTER_INSPECT_REQUESTED,
    CLUSTER_JOB_COMPLETED,
    CLUSTER_JOB_FAILED,
    CLUSTER_JOB_REQUESTED,
    EVENT_TYPES,
    INVOKED_WITH,
    PING,
    REPORT_PUBLISHED,
    RESULTS_OF,
    REVIEW_COMPLETED,
    REVIEW_FAILED,
    REVIEW_REQUESTED,
    TASK_EXTENSION,
    TASK_FAILED,
    TASK_PLANNED,
    TASK_REQUESTED,
    VARIANT_EXTENSION,
    VARIANTS,
    function_source,
)
from events.schemas import DataError, answer_schema, load_example, schema_for, validate_data

__all__ = [
    "CLUSTER_INSPECT_COMPLETED",
    "CLUSTER_INSPECT_FAILED",
    "CLUSTER_INSPECT_REQUESTED",
    "CLUSTER_JOB_COMPLETED",
    "CLUSTER_JOB_FAILED",
    "CLUSTER_JOB_REQUESTED",
    "EVENT_TYPES",
    "INVOKED_WITH",
    "PING",
    "REPORT_PUBLISHED",
    "RESULTS_OF",
    "REVIEW_COMPLETED",
    "REVIEW_FAILED",
    "REVIEW_REQUESTED",
    "TASK_EXTENSION",
    "TASK_FAILED",
    "TASK_PLANNED",
    "TASK_REQUESTED",
    "VARIANTS",
    "VARIANT_EXTENSION",
    "DataError",
    "answer_schema",
    "function_source",
    "load_example",
    "schema_for",
    "validate_data",
]

"""The Binks event contract: event types, extension attributes and data schemas.

The JSON Schemas in ``events/schemas/`` are the single source of truth for every
event's ``data``; this package only loads them and checks data against them.
"""

from events.catalog import (
    EVENT_TYPES as EVENT_TYPES,
    REVIEW_COMPLETED as REVIEW_COMPLETED,
    REVIEW_FAILED as REVIEW_FAILED,
    REVIEW_REQUESTED as REVIEW_REQUESTED,
    TASK_EXTENSION as TASK_EXTENSION,
    VARIANT_EXTENSION as VARIANT_EXTENSION,
    VARIANTS as VARIANTS,
    function_source as function_source,
)
from events.schemas import (
    DataError as DataError,
    load_example as load_example,
    schema_for as schema_for,
    validate_data as validate_data,
)

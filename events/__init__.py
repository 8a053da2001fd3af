"""The Binks event contract: event types, extension attributes and data schemas.

The JSON Schemas in ``events/schemas/`` are the single source of truth for every
event's ``data``; this package only loads them and checks data against them.
"""

from events.catalog import (
    CLUSTER_INSPECT_COMPLETED as CLUSTER_INSPECT_COMPLETED,
)
from events.catalog import (
    CLUSTER_INSPECT_FAILED as CLUSTER_INSPECT_FAILED,
)
from events.catalog import (
    CLUSTER_INSPECT_REQUESTED as CLUSTER_INSPECT_REQUESTED,
)
from events.catalog import (
    CLUSTER_JOB_COMPLETED as CLUSTER_JOB_COMPLETED,
)
from events.catalog import (
    CLUSTER_JOB_FAILED as CLUSTER_JOB_FAILED,
)
from events.catalog import (
    CLUSTER_JOB_REQUESTED as CLUSTER_JOB_REQUESTED,
)
from events.catalog import (
    PING as PING,
)
from events.catalog import (
    EVENT_TYPES as EVENT_TYPES,
)
from events.catalog import (
    REPORT_PUBLISHED as REPORT_PUBLISHED,
)
from events.catalog import (
    RESULTS_OF as RESULTS_OF,
)
from events.catalog import (
    REVIEW_COMPLETED as REVIEW_COMPLETED,
)
from events.catalog import (
    REVIEW_FAILED as REVIEW_FAILED,
)
from events.catalog import (
    REVIEW_REQUESTED as REVIEW_REQUESTED,
)
from events.catalog import (
    TASK_EXTENSION as TASK_EXTENSION,
)
from events.catalog import (
    TASK_FAILED as TASK_FAILED,
)
from events.catalog import (
    TASK_PLANNED as TASK_PLANNED,
)
from events.catalog import (
    TASK_REQUESTED as TASK_REQUESTED,
)
from events.catalog import (
    VARIANT_EXTENSION as VARIANT_EXTENSION,
)
from events.catalog import (
    VARIANTS as VARIANTS,
)
from events.catalog import (
    function_source as function_source,
)
from events.schemas import (
    DataError as DataError,
)
from events.schemas import (
    answer_schema as answer_schema,
)
from events.schemas import (
    load_example as load_example,
)
from events.schemas import (
    schema_for as schema_for,
)
from events.schemas import (
    validate_data as validate_data,
)

"""The function runtime: a role + a variant → a Knative-ready HTTP service."""

from shared.runtime.app import create_app as create_app
from shared.runtime.errors import FunctionError as FunctionError

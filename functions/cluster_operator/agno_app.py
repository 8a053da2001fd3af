"""The cluster operator on agno.

Served by ``python -m shared.runtime.serve functions.cluster_operator.agno_app:create_app``.
"""

from flask import Flask

from functions.cluster_operator.role import ROLE
from shared.runtime import create_app as create_function_app


def create_app() -> Flask:
    """The WSGI app of the cluster-operator-agno function."""
    return create_function_app(ROLE, "agno")

"""The code reviewer on agno.

Served by ``python -m shared.runtime.serve functions.code_reviewer.agno_app:create_app``.
"""

from flask import Flask

from functions.code_reviewer.role import ROLE
from shared.runtime import create_app as create_function_app


def create_app() -> Flask:
    """The WSGI app of the code-reviewer-agno function."""
    return create_function_app(ROLE, "agno")

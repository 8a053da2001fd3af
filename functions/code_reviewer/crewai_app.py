"""The code reviewer on crewai.

Served by ``python -m shared.runtime.serve functions.code_reviewer.crewai_app:create_app``.
"""

from flask import Flask

from functions.code_reviewer.role import ROLE
from shared.runtime import create_app as create_function_app


def create_app() -> Flask:
    """The WSGI app of the code-reviewer-crewai function."""
    return create_function_app(ROLE, "crewai")

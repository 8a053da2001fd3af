"""The reporter on crewai.

Served by ``python -m shared.runtime.serve functions.reporter.crewai_app:create_app``.
"""

from flask import Flask

from functions.reporter.role import ROLE
from shared.runtime import create_app as create_function_app


def create_app() -> Flask:
    """The WSGI app of the reporter-crewai function."""
    return create_function_app(ROLE, "crewai")

"""The function runtime: a role + a variant → a Knative-ready HTTP service.

Nothing is imported eagerly: ``python -m shared.runtime.serve`` imports this package
first, and what it needs of it depends on the app it serves.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from shared.errors import FunctionError
    from shared.runtime.app import create_app

__all__ = ["FunctionError", "create_app"]


def __getattr__(name: str) -> Any:
    if name == "create_app":
        from shared.runtime.app import create_app

        return create_app
    if name == "FunctionError":
        from shared.errors import FunctionError

        return FunctionError
    raise AttributeError(f"module 'shared.runtime' has no attribute {name!r}")

"""Framework adapters: each turns a :class:`~shared.role.Role` into its framework's agent.

Only the chosen variant's framework is imported, and only when a function starts,
so each variant's environment needs only its own framework.
"""

from __future__ import annotations

from importlib import import_module

from shared.role import ModelSettings, Role, Runner


def load_runner(variant: str, role: Role, model: ModelSettings) -> Runner:
    """Import ``shared.frameworks.<variant>_runner`` and build its runner for ``role``."""
    module = import_module(f"shared.frameworks.{variant}_runner")
    return module.build_runner(role, model)

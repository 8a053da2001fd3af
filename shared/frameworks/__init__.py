"""Framework adapters: each turns a :class:`~shared.role.Role` into its framework's agent.

Only the chosen variant's framework is imported, and only when a function starts,
so each variant's environment needs only its own framework.
"""

from __future__ import annotations

from importlib import import_module

from shared import variants
from shared.role import ModelSettings, Role, Runner


def load_runner(variant: str, role: Role, model: ModelSettings) -> Runner:
    """Import the variant's runner module (``shared.variants``) and build its runner."""
    module = import_module(variants.get(variant).runner)
    return module.build_runner(role, model)

"""The framework variants: one registry from which every name derives.

A variant is a framework a role can run on. From its registry entry come the value
of the ``binksvariant`` extension, the Knative Service and image names
(``<role>-<variant>``), the locked environment (``envs/<variant>/``, installed as
``.venvs/<variant>``), the runner (``shared/frameworks/<variant>_runner.py``) and the
app a server loads (``functions.<role>@<variant>``). Adding a framework is one runner
module and one line in :data:`REGISTRY` (plus its ``envs/<name>/`` lock).

Standard library only: a function's cold start imports this.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Variant:
    """One framework variant."""

    name: str
    #: The module whose ``build_runner(role, model)`` runs a role on this framework.
    runner: str

    def service(self, role: str) -> str:
        """The Knative Service (and image) name of ``role`` on this variant:
        ``code_reviewer`` → ``code-reviewer-agno``."""
        return f"{role.replace('_', '-')}-{self.name}"

    def app(self, role: str) -> str:
        """What ``python -m shared.runtime.serve`` loads: ``functions.code_reviewer@agno``."""
        return f"functions.{role}@{self.name}"

    @property
    def environment(self) -> str:
        """The environment's directory, relative to the checkout (``.venvs/agno``)."""
        return f".venvs/{self.name}"


REGISTRY: tuple[Variant, ...] = (
    Variant("agno", runner="shared.frameworks.agno_runner"),
    Variant("crewai", runner="shared.frameworks.crewai_runner"),
)
NAMES: tuple[str, ...] = tuple(variant.name for variant in REGISTRY)
_BY_NAME = {variant.name: variant for variant in REGISTRY}
#: ``<role>-<variant>`` with an optional registry path, tag and digest: an image name.
_SERVICE = re.compile(
    rf"(?:.*/)?(?P<role>[a-z0-9-]+?)-(?P<variant>{'|'.join(map(re.escape, NAMES))})"
    r"(?::[\w.-]+)?(?:@.*)?"
)


def get(name: str) -> Variant:
    """The variant called ``name``; ValueError naming the known ones otherwise."""
    try:
        return _BY_NAME[name]
    except KeyError:
        raise ValueError(f"unknown variant {name!r}; expected one of {', '.join(NAMES)}") from None


def parse_service(name: str) -> tuple[str, Variant] | None:
    """``ghcr.io/x/code-reviewer-agno:0.1.0`` or ``code-reviewer-agno`` → (``code_reviewer``,
    agno); None when the name is not ``<role>-<variant>``."""
    match = _SERVICE.fullmatch(name)
    if match is None:
        return None
    return match["role"].replace("-", "_"), _BY_NAME[match["variant"]]

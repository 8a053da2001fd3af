"""The variant registry: every name of a variant derives from its one entry."""

from __future__ import annotations

import pytest

from events import VARIANTS
from shared import variants


def test_the_registry_is_where_the_event_contract_gets_its_variants() -> None:
    assert VARIANTS == variants.NAMES == ("agno", "crewai")


def test_names_derive_from_the_entry() -> None:
    agno = variants.get("agno")
    assert agno.service("code_reviewer") == "code-reviewer-agno"
    assert agno.app("code_reviewer") == "functions.code_reviewer@agno"
    assert agno.environment == ".venvs/agno"
    assert agno.runner == "shared.frameworks.agno_runner"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("code-reviewer-agno", ("code_reviewer", "agno")),
        ("ghcr.io/binks-functions/cluster-operator-crewai:0.1.0", ("cluster_operator", "crewai")),
        ("example.org/x/reporter-agno@sha256:" + "a" * 64, ("reporter", "agno")),
        ("code-reviewer-langchain", None),
        ("worker", None),
        ("code-reviewer-agno-evil", None),
    ],
)
def test_service_and_image_names_parse_back(name: str, expected) -> None:
    parsed = variants.parse_service(name)
    got = None if parsed is None else (parsed[0], parsed[1].name)
    assert got == expected, name


def test_an_unknown_variant_names_the_known_ones() -> None:
    with pytest.raises(ValueError, match="expected one of agno, crewai"):
        variants.get("langchain")

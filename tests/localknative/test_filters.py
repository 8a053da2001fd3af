"""Trigger filter semantics, unit by unit (the platform tests cover them end to end)."""

from __future__ import annotations

import pytest

from localknative.filters import check_filters, legacy_matches, matches

EVENT = {"type": "dev.binks.review.requested", "source": "/cli", "binksvariant": "agno", "n": "7"}


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("type = 'dev.binks.review.requested'", True),
        ("TYPE = 'dev.binks.review.requested'", True),
        ("binksvariant = 'crewai' OR source = '/cli'", True),
        ("EXISTS binksvariant AND NOT EXISTS subject", True),
        ("NOT EXISTS binksvariant OR binksvariant = 'crewai'", False),
        ("type LIKE 'dev.%.requested'", True),
        ("type NOT LIKE 'dev.%'", False),
        ("source IN ('/a', '/cli')", True),
        ("n > 5 AND n <= 7", True),
        ("subject = 'x'", False),
        ("NOT (subject = 'x')", True),
        ("binksvariant <> 'agno'", False),
    ],
)
def test_cesql_subset(expression: str, expected: bool) -> None:
    assert matches([{"cesql": expression}], EVENT) is expected


@pytest.mark.parametrize(
    "filters",
    [
        [{"exact": {"type": "a"}, "prefix": {"type": "b"}}],
        [{"exact": {"Type": "a"}}],
        [{"cesql": "type = "}],
        [{"cesql": "type == 'a'"}],
        [{"sql": "type = 'a'"}],
        [{"all": {"exact": {"type": "a"}}}],
    ],
)
def test_invalid_filters_are_rejected(filters) -> None:
    with pytest.raises(ValueError):
        check_filters(filters)


def test_legacy_attributes_need_the_attribute() -> None:
    assert legacy_matches({"type": "dev.binks.review.requested"}, EVENT)
    assert not legacy_matches({"subject": ""}, EVENT)
    assert legacy_matches({"source": ""}, EVENT)
    assert not legacy_matches({"source": ""}, {**EVENT, "source": ""})

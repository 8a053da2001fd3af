"""What the ingress admits, as pure checks: the TTL a sender may set, the attribute budget."""

from __future__ import annotations

import pytest

from localknative.admission import (
    MAX_ATTRIBUTES_BYTES,
    MAX_HEADER_LINE,
    MAX_TTL,
    IngressError,
    attributes_over_budget,
    ingress_ttl,
)

BASE = {"specversion": "1.0", "id": "1", "source": "/s", "type": "t"}


@pytest.mark.parametrize(("raw", "ttl"), [(None, MAX_TTL), ("1", 1), ("255", 255), ("100000", 255)])
def test_a_senders_ttl_is_kept_or_clamped(raw, ttl: int) -> None:
    assert ingress_ttl(raw) == ttl


@pytest.mark.parametrize("raw", ["0", "-1", "1e9", "ten", "9" * 40, ""])
def test_an_exhausted_or_malformed_ttl_is_a_400_naming_it(raw: str) -> None:
    with pytest.raises(IngressError) as refused:
        ingress_ttl(raw)
    assert refused.value.status == 400 and "knativebrokerttl" in refused.value.reason


def test_attributes_within_the_budget_pass() -> None:
    assert attributes_over_budget({**BASE, "note": "x" * 1000}) is None


def test_one_attribute_over_a_header_line_is_named() -> None:
    reason = attributes_over_budget({**BASE, "big": "x" * MAX_HEADER_LINE})
    assert reason is not None and "'big'" in reason, reason


def test_many_attributes_over_the_total_are_refused() -> None:
    many = {f"a{n}": "x" * 4000 for n in range(MAX_ATTRIBUTES_BYTES // 4000 + 1)}
    reason = attributes_over_budget({**BASE, **many})
    assert reason is not None and "limit" in reason, reason


def test_percent_encoding_counts_toward_the_budget() -> None:
    # each é is 6 bytes once percent-encoded: 1400 of them pass a 8000-byte line as text only
    assert attributes_over_budget({**BASE, "name": "é" * 1400}) is not None

"""The functions' own metrics read back by ``prometheus_client``'s parser (the standard)."""

from __future__ import annotations

import pytest
from prometheus_client.parser import text_string_to_metric_families

from shared.telemetry.metrics import Counter, Histogram, Registry


def families(registry: Registry) -> dict:
    text = registry.exposition().decode()
    print(text)
    return {f.name: f for f in text_string_to_metric_families(text)}


def test_counters_and_histograms_parse_as_prometheus_reads_them() -> None:
    registry = Registry()
    events = registry.add(Counter("binks_events", "Events\nby type", ("type",)))
    seconds = registry.add(Histogram("binks_seconds", "Time", ("type",), (0.1, 1)))
    events.inc(('a "quoted"\\ type\n',), 2)
    events.inc(("b",))
    for value in (0.05, 0.5, 5):
        seconds.observe(("b",), value)
    found = families(registry)
    assert found["binks_events"].type == "counter"
    counted = {s.labels["type"]: s.value for s in found["binks_events"].samples}
    assert counted == {'a "quoted"\\ type\n': 2.0, "b": 1.0}
    histogram = {(s.name, s.labels.get("le")): s.value for s in found["binks_seconds"].samples}
    assert histogram == {
        ("binks_seconds_bucket", "0.1"): 1.0,
        ("binks_seconds_bucket", "1.0"): 2.0,
        ("binks_seconds_bucket", "+Inf"): 3.0,
        ("binks_seconds_sum", None): 5.55,
        ("binks_seconds_count", None): 3.0,
    }


def test_misuse_is_refused_with_the_metric_named() -> None:
    registry = Registry()
    counter = registry.add(Counter("binks_c", "c", ("a",)))
    with pytest.raises(ValueError, match="binks_c takes labels"):
        counter.inc(())
    with pytest.raises(ValueError, match="cannot go down"):
        counter.inc(("x",), -1)
    with pytest.raises(ValueError, match="registered already"):
        registry.add(Counter("binks_c", "again"))

"""Counters and histograms with labels, written in Prometheus' text format (0.0.4).

A function's own metrics, not the ``prometheus_client`` package's: that import alone
took 8 to 13 ms of a cold start here (``python -m bench.telemetry_cost``), the whole of
issue 17's budget for tracing and metrics together. This is the part a function uses
(two metric types, one registry, the exposition), checked by the tests against
``prometheus_client``'s own parser. The platform, a long-lived process, uses the
standard client.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Sequence

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _number(value: float) -> str:
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return repr(float(value))


def _labels(names: Sequence[str], values: Sequence[str], extra: str = "") -> str:
    pairs = [f'{n}="{_escape(v)}"' for n, v in zip(names, values, strict=True)]
    if extra:
        pairs.append(extra)
    return "{" + ",".join(pairs) + "}" if pairs else ""


class Metric:
    """One metric family: name, help, label names; its children by label values."""

    kind = ""

    def __init__(self, name: str, documentation: str, labelnames: Sequence[str]) -> None:
        self.name, self.documentation, self.labelnames = name, documentation, tuple(labelnames)
        self._lock = threading.Lock()

    def _check(self, values: Sequence[str]) -> tuple[str, ...]:
        if len(values) != len(self.labelnames):
            raise ValueError(f"{self.name} takes labels {self.labelnames}, got {tuple(values)}")
        return tuple(str(v) for v in values)

    def header(self) -> list[str]:
        return [
            f"# HELP {self.name} {_escape(self.documentation)}",
            f"# TYPE {self.name} {self.kind}",
        ]


class Counter(Metric):
    """A count that only goes up; written as ``<name>_total``."""

    kind = "counter"

    def __init__(self, name: str, documentation: str, labelnames: Sequence[str] = ()) -> None:
        super().__init__(name, documentation, labelnames)
        self._values: dict[tuple[str, ...], float] = {}

    def header(self) -> list[str]:
        # the 0.0.4 format names a counter's family as its samples: ``<name>_total``
        return [
            f"# HELP {self.name}_total {_escape(self.documentation)}",
            f"# TYPE {self.name}_total counter",
        ]

    def inc(self, labels: Sequence[str], amount: float = 1.0) -> None:
        """Add ``amount`` (≥ 0) to the child with ``labels``."""
        if amount < 0:
            raise ValueError(f"{self.name}: a counter cannot go down ({amount})")
        key = self._check(labels)
        with self._lock:
            self._values[key] = self._values.get(key, 0.0) + amount

    def lines(self) -> list[str]:
        with self._lock:
            values = sorted(self._values.items())
        return [f"{self.name}_total{_labels(self.labelnames, k)} {_number(v)}" for k, v in values]


class Histogram(Metric):
    """Observations counted in cumulative buckets, with their sum and count."""

    kind = "histogram"

    def __init__(
        self, name: str, documentation: str, labelnames: Sequence[str], buckets: Sequence[float]
    ) -> None:
        super().__init__(name, documentation, labelnames)
        self.buckets = (*sorted(float(b) for b in buckets), math.inf)
        self._values: dict[tuple[str, ...], list[float]] = {}  # counts..., sum

    def observe(self, labels: Sequence[str], value: float) -> None:
        """Count ``value`` for the child with ``labels``."""
        key = self._check(labels)
        with self._lock:
            row = self._values.setdefault(key, [0.0] * (len(self.buckets) + 1))
            for i, bound in enumerate(self.buckets):
                if value <= bound:
                    row[i] += 1
            row[-1] += value

    def lines(self) -> list[str]:
        with self._lock:
            values = sorted((k, list(v)) for k, v in self._values.items())
        out = []
        for key, row in values:
            for bound, count in zip(self.buckets, row, strict=False):
                le = f'le="{_number(bound)}"'
                out.append(
                    f"{self.name}_bucket{_labels(self.labelnames, key, le)} {_number(count)}"
                )
            out.append(f"{self.name}_sum{_labels(self.labelnames, key)} {_number(row[-1])}")
            out.append(f"{self.name}_count{_labels(self.labelnames, key)} {_number(row[-2])}")
        return out


class Registry:
    """The metrics one process serves at ``/metrics``."""

    def __init__(self) -> None:
        self.metrics: list[Metric] = []

    def add(self, metric: Metric) -> Metric:
        """Register ``metric``; its name must be new."""
        if any(m.name == metric.name for m in self.metrics):
            raise ValueError(f"metric {metric.name} is registered already")
        self.metrics.append(metric)
        return metric

    def exposition(self) -> bytes:
        """Every metric in the text format."""
        lines: list[str] = []
        for metric in self.metrics:
            lines += metric.header() + metric.lines()
        return ("\n".join(lines) + "\n").encode()

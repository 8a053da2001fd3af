"""The platform's ``/metrics`` (Prometheus text format, the standard client library):
what the broker counts as events flow, and what Serving holds, read at each scrape.

Counters and the delivery histogram are updated by :class:`~localknative.broker.Eventing`;
instances, their memory and the cold-start histogram are read from
:class:`~localknative.serving.Serving` when Prometheus asks (nothing to keep in step).
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector

from localknative.serving import Serving

#: What a rejected event's ``reason`` label says, by the ingress's HTTP status.
REJECTED = {
    400: "invalid_event",
    404: "no_such_broker",
    413: "too_large",
    415: "not_an_event",
    429: "backlog_full",
    431: "attributes_too_large",
}
DELIVERY_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300)
COLD_START_BUCKETS = (0.25, 0.5, 1, 2, 4, 8, 16, 32, 64, 120)
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def variant_of(serving: Serving, namespace: str, service: str) -> str:
    """The variant a Service's function runs on ("" for one the platform serves)."""
    state = serving.states.get((namespace, service))
    return state.function.variant if state is not None and state.function else ""


class PlatformMetrics:
    """The platform's registry (its own, not the process-global one)."""

    def __init__(self, serving: Serving) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        registry = self.registry
        self.accepted = Counter(
            "binks_broker_events", "Events the broker accepted, by origin", ["origin"],
            registry=registry,
        )  # fmt: skip
        self.rejected = Counter(
            "binks_broker_rejected_events", "Events the ingress refused, by reason",
            ["reason"], registry=registry,
        )  # fmt: skip
        self.deliveries = Counter(
            "binks_deliveries",
            "Delivery attempts by trigger and outcome (delivered, retrying, failed)",
            ["trigger", "service", "variant", "outcome"], registry=registry,
        )  # fmt: skip
        self.retries = Counter(
            "binks_delivery_retries", "Attempts after a delivery's first", ["trigger"],
            registry=registry,
        )  # fmt: skip
        self.dead_letters = Counter(
            "binks_dead_letters", "Events sent to a dead-letter sink", ["trigger"],
            registry=registry,
        )  # fmt: skip
        self.latency = Histogram(
            "binks_delivery_duration_seconds",
            "From the event's acceptance to the subscriber's answer, per attempt",
            ["service", "variant"], buckets=DELIVERY_BUCKETS, registry=registry,
        )  # fmt: skip
        registry.register(ServingCollector(serving))

    def reject(self, status: int) -> None:
        """Count one event the ingress refused with ``status``."""
        self.rejected.labels(REJECTED.get(status, f"http_{status}")).inc()

    def exposition(self) -> bytes:
        """The text a scrape gets."""
        return generate_latest(self.registry)


class ServingCollector(Collector):
    """Instances per Service, memory per instance, cold starts: read at each scrape."""

    def __init__(self, serving: Serving) -> None:
        self.serving = serving

    def collect(self) -> Iterator[Metric]:
        instances = GaugeMetricFamily(
            "binks_instances", "Ready instances per Service", labels=["service", "variant"]
        )
        starting = GaugeMetricFamily(
            "binks_instances_starting", "Instances starting", labels=["service", "variant"]
        )
        memory = GaugeMetricFamily(
            "binks_instance_memory_bytes",
            "Memory of each instance as its cgroup counts it (RSS without one)",
            labels=["service", "variant", "pid"],
        )
        limit = GaugeMetricFamily(
            "binks_instance_memory_limit_bytes",
            "Each Service's memory limit (its manifest's resources.limits.memory)",
            labels=["service", "variant"],
        )
        cold = HistogramMetricFamily(
            "binks_cold_start_seconds",
            "Instance spawn to its first ready answer",
            labels=["service", "variant"],
        )
        for state in self.serving.states.values():
            if state.function is None:
                continue
            labels = [state.spec.name, state.function.variant]
            instances.add_metric(labels, len(state.instances))
            starting.add_metric(labels, state.starting)
            if state.spec.memory_limit_bytes:
                limit.add_metric(labels, state.spec.memory_limit_bytes)
            for instance in list(state.instances):
                counted = instance.process.memory()
                used = counted.get("usage") or counted.get("rss")
                if used:
                    memory.add_metric([*labels, str(instance.process.pid)], used)
            cold.add_metric(labels, *_buckets(state.cold_starts))
        yield from (instances, starting, memory, limit, cold)


def _buckets(samples: list[float]) -> tuple[list[tuple[str, float]], float]:
    """Cumulative bucket counts of ``samples`` and their sum, as a histogram reports them."""
    counts = [(str(float(b)), float(sum(s <= b for s in samples))) for b in COLD_START_BUCKETS]
    return [*counts, ("+Inf", float(len(samples)))], sum(samples)

"""What the broker sees of each event, kept: a span and metrics per delivery attempt,
the trace an event without one starts at the ingress, and the dead letters the
dashboard shows. The broker calls it; it never changes what is delivered."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from localknative.admission import ARRIVAL
from localknative.manifests import Trigger
from localknative.metrics import PlatformMetrics, variant_of
from localknative.serving import Serving
from localknative.store import PendingDelivery, StoredEvent
from localknative.traces import Traces, with_context
from shared.telemetry.spans import Span, now_ns
from shared.telemetry.tracecontext import TraceContext, child_of

if TYPE_CHECKING:
    from localknative.posting import DeliveryOutcome

#: Dead letters the dashboard shows (the newest).
DEAD_LETTERS_KEPT = 100
#: How much of a dead letter's reason is kept (the broker's knativeerrordata limit).
REASON_BYTES = 1024


class Observer:
    """The broker's spans (:class:`~localknative.traces.Traces`), metrics
    (:class:`~localknative.metrics.PlatformMetrics`) and recent dead letters."""

    def __init__(self, serving: Serving, traces: Traces) -> None:
        self.serving = serving
        self.traces = traces
        self.metrics = PlatformMetrics(serving)
        self.dead_letters: deque[dict[str, Any]] = deque(maxlen=DEAD_LETTERS_KEPT)

    def start_trace(self, attributes: dict[str, str], origin: str) -> dict[str, str]:
        """``attributes`` with a new trace's context, its first span (the ingress) kept."""
        root = child_of(None)
        at = now_ns()
        fields = {"origin": origin, "event_type": attributes.get("type", "")}
        self.traces.add(Span("ingress", root, at, at, "producer", _with_task(fields, attributes)))
        return with_context(attributes, root)

    def attempt(
        self,
        delivery: PendingDelivery,
        trigger: Trigger,
        attempt: int,
        context: TraceContext,
        started_ns: int,
        outcome: DeliveryOutcome,
        state: str | None,
    ) -> None:
        """One attempt's span and metrics: queue wait (acceptance → this attempt), the
        wait for an instance and its cold start, the subscriber's time, the outcome."""
        ended_ns = now_ns()
        event = delivery.event
        subscriber = trigger.subscriber
        service = subscriber.service or subscriber.uri or ""
        variant = variant_of(self.serving, subscriber.namespace, subscriber.service or "")
        outcome_name = state or "retrying"
        arrived_ns = _arrival_ns(event.attributes) or started_ns
        handler_ms = (ended_ns - started_ns) / 1e6 - outcome.wait_s * 1000
        fields: dict[str, Any] = {
            "trigger": delivery.trigger,
            "service": service,
            "variant": variant,
            "event_seq": event.seq,
            "event_type": event.attributes.get("type", ""),
            "event_id": event.attributes.get("id", ""),
            "attempt": attempt,
            "status": outcome.status if outcome.status is not None else -1,
            "outcome": outcome_name,
            "queue_ms": round(max(0.0, (started_ns - arrived_ns) / 1e6), 1),
            "wait_ms": round(outcome.wait_s * 1000, 1),
            "handler_ms": round(max(0.0, handler_ms), 1),
            "cold": outcome.cold_start_s is not None,
        }
        if outcome.cold_start_s is not None:
            fields["cold_start_s"] = round(outcome.cold_start_s, 3)
            fields["restored"] = outcome.restored
        if outcome.reply is not None:
            fields["reply_type"] = str(outcome.reply.type)
        span = Span(
            "delivery", context, started_ns, ended_ns, "client",
            _with_task(fields, event.attributes), None if state == "delivered" else outcome.error,
        )  # fmt: skip
        self.traces.add(span)
        self.metrics.deliveries.labels(delivery.trigger, service, variant, outcome_name).inc()
        if attempt > 1:
            self.metrics.retries.labels(delivery.trigger).inc()
        self.metrics.latency.labels(service, variant).observe((ended_ns - arrived_ns) / 1e9)

    def dead_letter(self, event: StoredEvent, trigger: Trigger, failure: DeliveryOutcome) -> None:
        """Count a dead letter and keep what the dashboard shows of it."""
        self.metrics.dead_letters.labels(f"{trigger.namespace}/{trigger.name}").inc()
        reason = (failure.body or (failure.error or "").encode())[:REASON_BYTES]
        letter = {
            "at": time.time(),
            "event_seq": event.seq,
            "event_type": event.attributes.get("type", ""),
            "trigger": f"{trigger.namespace}/{trigger.name}",
            "destination": trigger.subscriber.describe(),
            "code": failure.status if failure.status is not None else -1,
            "reason": reason.decode("utf-8", "replace"),
        }
        self.dead_letters.append(_with_task(letter, event.attributes))


def _with_task(fields: dict[str, Any], attributes: Mapping[str, str]) -> dict[str, Any]:
    """``fields`` plus the event's Binks task and variant, where it names them."""
    extra = {"task": attributes.get("binkstask"), "addressed_to": attributes.get("binksvariant")}
    return {**fields, **{k: v for k, v in extra.items() if v}}


def _arrival_ns(attributes: Mapping[str, str]) -> int | None:
    """When the broker accepted the event (its ``knativearrivaltime``), in ns."""
    try:
        return int(datetime.fromisoformat(attributes[ARRIVAL]).timestamp() * 1e9)
    except (KeyError, ValueError):
        return None

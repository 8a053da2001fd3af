"""Knative Eventing, locally: broker ingress, trigger fan-out, delivery, replies.

Contracts (``../shared/reference/knative-contracts.md`` §2): ingress answers 202
once the event is persisted; each matching Trigger gets its own delivery with
independent retries (network errors, 404, 408, 409, 429, 5xx), then the
dead-letter sink with ``knativeerrordest/code/data``; a 2xx reply carrying a
CloudEvent re-enters the broker with the TTL decremented; a non-event 2xx body is
a failure (502).
"""

from __future__ import annotations

import asyncio
import base64
import os
import time
from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime

import aiohttp

from localknative.admission import (
    ARRIVAL,
    BACKLOG_BYTES,
    DECODE_INLINE_BYTES,
    ERROR_PREFIX,
    MAX_TTL,
    RETRY_AFTER_S,
    TTL,
    IngressError,
    attributes_over_budget,
    backlog_from_env,
    ingress_ttl,
)
from localknative.filters import legacy_matches, matches
from localknative.manifests import Broker, Delivery, Destination, Manifests, Trigger
from localknative.observer import Observer
from localknative.posting import DeliveryOutcome, post
from localknative.serving import Serving, ServingError
from localknative.store import EventStore, PendingDelivery, StoredEvent
from localknative.traces import Traces, with_context
from shared.errors import FunctionError
from shared.telemetry.spans import now_ns
from shared.telemetry.tracecontext import TRACEPARENT, TraceContext, carried_by, child_of
from shared.wire import Incoming, binary_headers, data_bytes, decode, text_attributes

RETRYABLE = {404, 408, 409, 429}
ERROR_DATA_LIMIT = 1024


class Eventing:
    """Brokers and triggers of the loaded manifests, backed by the event store."""

    def __init__(
        self,
        manifests: Manifests,
        store: EventStore,
        serving: Serving,
        base_url: str,
        backlog: int | None = None,
        traces: Traces | None = None,
    ):
        self.brokers: dict[tuple[str, str], Broker] = manifests.brokers
        self.triggers: dict[str, Trigger] = {
            f"{t.namespace}/{t.name}": t for t in manifests.triggers
        }
        self.store = store
        self.serving = serving
        self.base_url = base_url
        self.session: aiohttp.ClientSession | None = None
        self.in_flight = asyncio.Semaphore(256)  # bounded concurrent deliveries
        self.tasks: set[asyncio.Task] = set()
        self.backlog = backlog or backlog_from_env(os.environ)
        self.held_bytes = 0  # event bytes referenced by the deliveries in ``tasks``
        self.seen = Observer(serving, traces or Traces())

    async def start(self) -> int:
        """Open the client and resume every delivery a previous run left pending."""
        self.session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=512, limit_per_host=256),
            auto_decompress=False,
        )
        pending = await asyncio.to_thread(self.store.pending)
        for delivery in pending:
            self._spawn(delivery)
        return len(pending)

    async def stop(self) -> None:
        for task in list(self.tasks):
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        if self.session:
            await self.session.close()

    # --- ingress -------------------------------------------------------------------------

    async def ingest(
        self, namespace: str, name: str, headers: Mapping[str, str], body: bytes
    ) -> int:
        """Validate, persist and fan out one event; returns its sequence number."""
        broker = self.brokers.get((namespace, name))
        if broker is None:
            raise IngressError(404, f"broker {namespace}/{name} not found")
        try:
            # a large body takes a while to check and parse: off the event loop, so other
            # requests and deliveries go on meanwhile
            incoming = (
                await asyncio.to_thread(decode, headers, body)
                if len(body) > DECODE_INLINE_BYTES
                else decode(headers, body)
            )
        except FunctionError as error:  # 400 invalid event, 415 not an event format at all
            raise IngressError(error.status, error.reason, error.details) from None
        if incoming.mode == "plain":
            raise IngressError(
                400, "not a CloudEvent: send ce-* headers or application/cloudevents+json"
            )
        attributes = text_attributes(incoming)
        ttl = ingress_ttl(attributes.get(TTL))
        data = data_bytes(incoming, body)
        problem = attributes_over_budget(attributes)
        if problem:
            raise IngressError(431, problem)
        self._refuse_when_full()
        chosen = self._route(broker, attributes)
        self._refuse_too_large(chosen, data)
        return await self._accept(broker, attributes, data, ttl, "ingress", chosen)

    def _route(self, broker: Broker, attributes: Mapping[str, str]) -> list[str]:
        """The triggers of ``broker`` whose filters pass the event."""
        return [
            key
            for key, trigger in self.triggers.items()
            if trigger.broker == broker.name
            and trigger.namespace == broker.namespace
            and self._passes(trigger, attributes)
        ]

    def _refuse_too_large(self, chosen: list[str], data: bytes) -> None:
        """413 now rather than a dead letter later: a subscriber's body limit is known here."""
        for key in chosen:
            subscriber = self.triggers[key].subscriber
            if subscriber.uri:
                continue
            limit = self.serving.max_body(subscriber.namespace, subscriber.service)
            if limit is not None and len(data) > limit:
                raise IngressError(
                    413,
                    f"the data ({len(data)} bytes) is over the limit of {subscriber.service} "
                    f"({limit} bytes, BINKS_MAX_BODY_BYTES)",
                )

    async def _accept(
        self,
        broker: Broker,
        attributes: dict[str, str],
        data: bytes,
        ttl: int,
        origin: str,
        chosen: list[str] | None = None,
    ) -> int:
        attributes = {k: v for k, v in attributes.items() if not k.startswith(ERROR_PREFIX)}
        attributes[TTL] = str(ttl)
        if carried_by(attributes) is None:  # an event without one starts a trace here
            attributes = self.seen.start_trace(attributes, origin)
        self.seen.metrics.accepted.labels(origin).inc()
        # set by the broker, always: a sender's value would lie about queueing time
        attributes[ARRIVAL] = datetime.now(UTC).isoformat().replace("+00:00", "Z")
        if chosen is None:
            chosen = self._route(broker, attributes)
        seq, created = await asyncio.wrap_future(
            self.store.accept(broker.namespace, broker.name, attributes, data, chosen, origin)
        )
        event = StoredEvent(seq, broker.namespace, broker.name, attributes, data)
        for delivery_id, trigger in created:
            self._spawn(PendingDelivery(delivery_id, trigger, 0, event))
        return seq

    def _refuse_when_full(self) -> None:
        """Back-pressure: a full backlog is a 429 with Retry-After, never an unbounded queue.

        Replies of delivered events are not refused (they are part of work already
        accepted); they only count toward the next ingress check.
        """
        if len(self.tasks) >= self.backlog or self.held_bytes >= BACKLOG_BYTES:
            raise IngressError(
                429,
                f"the broker is busy: {len(self.tasks)} deliveries waiting "
                f"(limit {self.backlog}); retry later",
                headers={"Retry-After": str(RETRY_AFTER_S)},
            )

    @staticmethod
    def _passes(trigger: Trigger, attributes: Mapping[str, str]) -> bool:
        if trigger.filters:  # filters override filter
            return matches(trigger.filters, attributes)
        return legacy_matches(trigger.attributes, attributes)

    # --- delivery ------------------------------------------------------------------------

    def _spawn(self, delivery: PendingDelivery) -> None:
        task = asyncio.get_running_loop().create_task(self._deliver(delivery))
        size = len(delivery.event.data)
        self.tasks.add(task)
        self.held_bytes += size

        def done(finished: asyncio.Task) -> None:
            self.tasks.discard(finished)
            self.held_bytes -= size

        task.add_done_callback(done)

    def _delivery_spec(self, trigger: Trigger) -> Delivery:
        broker = self.brokers[(trigger.namespace, trigger.broker)]
        return trigger.delivery or broker.delivery or Delivery()

    async def _deliver(self, delivery: PendingDelivery) -> None:
        trigger = self.triggers.get(delivery.trigger)
        if trigger is None:  # the manifest changed since the event was accepted
            await asyncio.wrap_future(
                self.store.record_attempt(
                    delivery.id,
                    delivery.attempts,
                    "(gone)",
                    None,
                    f"trigger {delivery.trigger} no longer exists",
                    0,
                    "dead",
                )
            )
            return
        spec = self._delivery_spec(trigger)
        attempt = delivery.attempts
        event = delivery.event
        async with self.in_flight:
            while True:
                attempt += 1
                started, started_ns = time.monotonic(), now_ns()
                context = child_of(carried_by(event.attributes))
                outcome = await self._send(
                    trigger.subscriber, trigger.namespace, event, spec, context
                )
                ok = (
                    outcome.status is not None and 200 <= outcome.status < 300 and not outcome.error
                )
                final = ok or not self._retryable(outcome) or attempt > spec.retry
                state = "delivered" if ok else ("failed" if final else None)
                self.seen.attempt(delivery, trigger, attempt, context, started_ns, outcome, state)
                await asyncio.wrap_future(
                    self.store.record_attempt(
                        delivery.id,
                        attempt,
                        trigger.subscriber.describe(),
                        outcome.status,
                        outcome.error,
                        (time.monotonic() - started) * 1000,
                        state,
                    )
                )
                if ok:
                    if outcome.reply is not None:
                        await self._reply(event, outcome.reply, outcome.body, context)
                    return
                if final:
                    break
                await asyncio.sleep(spec.wait_before_retry(attempt))
        if spec.dead_letter is not None:
            await self._dead_letter(event, trigger, spec, outcome)

    @staticmethod
    def _retryable(outcome: DeliveryOutcome) -> bool:
        return outcome.status is None or outcome.status in RETRYABLE or outcome.status >= 500

    async def _reply(
        self, cause: StoredEvent, reply: Incoming, body: bytes, delivery: TraceContext
    ) -> None:
        ttl = int(cause.attributes.get(TTL, MAX_TTL)) - 1
        broker = self.brokers[(cause.namespace, cause.broker)]
        attributes = text_attributes(reply)
        attributes.pop(ARRIVAL, None)
        if carried_by(attributes) is None:  # a subscriber that traces nothing: its reply
            attributes = with_context(attributes, delivery)  # continues the delivery
        if ttl <= 0:
            await asyncio.wrap_future(
                self.store.accept(
                    broker.namespace,
                    broker.name,
                    {**attributes, TTL: "0"},
                    data_bytes(reply, body),
                    [],
                    origin="reply-dropped-ttl",
                )
            )
            return
        await self._accept(broker, attributes, data_bytes(reply, body), ttl, origin="reply")

    async def _dead_letter(
        self, event: StoredEvent, trigger: Trigger, spec: Delivery, failure: DeliveryOutcome
    ) -> None:
        data = base64.b64encode(failure.body or (failure.error or "").encode()).decode()
        attributes = {
            **event.attributes,
            "knativeerrordest": trigger.subscriber.describe(),
            "knativeerrorcode": str(failure.status if failure.status is not None else -1),
            "knativeerrordata": data[:ERROR_DATA_LIMIT],
        }
        letter = StoredEvent(event.seq, event.namespace, event.broker, attributes, event.data)
        self.seen.dead_letter(event, trigger, failure)
        for attempt in range(1, spec.retry + 2):
            outcome = await self._send(spec.dead_letter, trigger.namespace, letter, spec)
            if outcome.status is not None and 200 <= outcome.status < 300:
                return
            if not self._retryable(outcome):
                return
            await asyncio.sleep(spec.wait_before_retry(attempt))

    async def _send(
        self,
        destination: Destination,
        namespace: str,
        event: StoredEvent,
        spec: Delivery,
        trace: TraceContext | None = None,
    ) -> DeliveryOutcome:
        headers = {
            **binary_headers(event.attributes, omit=(TTL,)),
            "Prefer": "reply",
            "Kn-Namespace": namespace,
            # the transport's context (this delivery), beside the event's own (ce-traceparent)
            **({TRACEPARENT: trace.traceparent} if trace else {}),
        }
        if destination.uri:
            return await post(
                self.session, destination.uri, headers, event.data, spec.timeout_s or 300
            )
        if self.serving.builtin(destination.namespace, destination.service):
            await self.record_sink(destination.service, event.attributes, event.data)
            return DeliveryOutcome(202)
        state = self.serving.state(destination.namespace, destination.service)
        timeout = min(spec.timeout_s or state.spec.timeout_s, state.spec.timeout_s)
        asked = time.monotonic()
        try:
            instance = await self.serving.acquire(
                destination.namespace, destination.service, timeout
            )
        except (TimeoutError, ServingError) as problem:
            return DeliveryOutcome(503, error=str(problem), wait_s=time.monotonic() - asked)
        # an instance started after this delivery asked for one: it waited for a cold start
        cold = instance.ready_s if instance.started >= asked else None
        waited = {
            "wait_s": time.monotonic() - asked,
            "cold_start_s": cold,
            "restored": cold is not None and instance.restored,
        }
        outcome = DeliveryOutcome(None, **waited)
        try:
            outcome = replace(
                await post(self.session, instance.process.url, headers, event.data, timeout),
                **waited,
            )
        finally:  # an instance that refused the connection is replaced before the retry
            await self.serving.release(
                destination.namespace, destination.service, instance, outcome.refused
            )
        if outcome.timed_out and timeout >= state.spec.timeout_s:
            # the Service's timeoutSeconds, enforced by Serving: Knative answers 504
            reason = f"request timeout: {destination.service} took over {timeout:g}s"
            return DeliveryOutcome(504, reason.encode(), error=reason, **waited)
        return outcome

    async def record_sink(self, service: str, attributes: Mapping[str, str], data: bytes) -> None:
        """What the platform's event_display stand-in received (shown by ``binks events``)."""
        await asyncio.wrap_future(
            self.store.accept("-", service, dict(attributes), data, [], origin=f"sink:{service}")
        )

"""Back-pressure at the broker ingress: when the deliveries waiting in memory reach
the backlog limit, the ingress answers 429 with Retry-After instead of queueing
without bound; every event it did accept is still delivered."""

from __future__ import annotations

import json

import pytest

from tests.localknative.conftest import BROKER, trigger

pytestmark = pytest.mark.faults

SLOW_RETRIES = "  delivery: {retry: 100, backoffPolicy: linear, backoffDelay: PT0.2S}"


def test_a_full_backlog_is_a_429_and_nothing_accepted_is_lost(
    platform_factory, subscribers, closed_port
):
    port = closed_port.getsockname()[1]  # refused for now: deliveries wait for their retries
    manifest = BROKER.format(delivery="{}") + trigger(
        "late", f"http://127.0.0.1:{port}/", "", SLOW_RETRIES
    )
    platform = platform_factory(manifest, env={"BINKS_BROKER_BACKLOG": "10"})
    answers = [platform.send("t.a", {"n": n}) for n in range(25)]
    accepted = {event_id for status, event_id in answers if status == 202}
    refused = [status for status, _ in answers if status != 202]
    assert len(accepted) == 10
    assert refused == [429] * 15

    headers = {"ce-specversion": "1.0", "ce-id": "x", "ce-source": "/t", "ce-type": "t.a"}
    status, answer_headers, body = platform.post("/default/default", b"", headers)
    assert status == 429 and answer_headers["Retry-After"] == "1"
    assert "busy" in json.loads(body)["error"]

    late = subscribers(sock=closed_port)  # the subscriber comes up: the backlog drains
    platform.wait(
        lambda: {r.headers["ce-id"] for r in late.received} >= accepted,
        timeout_s=30,
        what="every accepted event delivered",
    )
    assert platform.wait(lambda: platform.send("t.a")[0] == 202, what="ingress open again")
    assert len(platform.events("t.a")) == 11  # the accepted ten and the last one, no others

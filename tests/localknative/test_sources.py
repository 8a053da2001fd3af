"""PingSources: the cron schedules Knative's ping adapter reads, and ticks through the
broker of a real platform process."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from localknative.manifests import Destination, PingSource
from localknative.sources import ScheduleError, parse_schedule, ping_event

from .conftest import BROKER, trigger

AT = datetime(2026, 11, 25, 12, 0, 30, tzinfo=UTC)  # a Wednesday


@pytest.mark.parametrize(
    ("schedule", "expected"),
    [
        ("* * * * *", "2026-11-25T12:01"),
        ("*/15 * * * *", "2026-11-25T12:15"),
        ("0 9-17/4 * * *", "2026-11-25T13:00"),
        ("30 6 * * 1", "2026-11-30T06:30"),  # next Monday
        ("0 0 1 * 4", "2026-11-26T00:00"),  # the 1st OR a Thursday: cron ORs the day fields
        ("@hourly", "2026-11-25T13:00"),
        ("CRON_TZ=Europe/Paris 0 14 * * *", "2026-11-25T13:00"),  # 14:00 in Paris is 13:00 UTC
        ("@every 90s", "2026-11-25T12:02"),
    ],
)
def test_next_tick_follows_the_standard_cron_parser(schedule: str, expected: str) -> None:
    tick = parse_schedule(schedule).next_after(AT)
    assert tick.astimezone(UTC).strftime("%Y-%m-%dT%H:%M") == expected


@pytest.mark.parametrize(
    ("schedule", "message"),
    [
        ("* * * *", "expected 5 fields"),
        ("61 * * * *", "minute"),
        ("* * * 13 *", "month"),
        ("a * * * *", "not a number"),
        ("TZ=Mars/Olympus * * * * *", "unknown time zone"),
        ("@every soon", "not a duration"),
    ],
)
def test_bad_schedules_name_the_field(schedule: str, message: str) -> None:
    with pytest.raises(ScheduleError, match=message):
        parse_schedule(schedule)


def test_a_ping_is_the_cloudevent_knative_sends() -> None:
    source = PingSource(
        "ns",
        "tick",
        "* * * * *",
        None,
        '{"tick": true}',
        "application/json",
        Destination(namespace="ns", broker="default"),
    )
    headers, body = ping_event(source, AT)
    assert headers["ce-type"] == "dev.knative.sources.ping"
    assert headers["ce-source"] == "/apis/v1/namespaces/ns/pingsources/tick"
    assert headers["ce-time"] == "2026-11-25T12:00:30Z"
    assert headers["content-type"] == "application/json" and json.loads(body) == {"tick": True}


@pytest.mark.process
def test_a_ping_source_ticks_into_the_broker(platform_factory, subscribers) -> None:
    sink = subscribers()
    ping = """
---
apiVersion: sources.knative.dev/v1
kind: PingSource
metadata: {name: tick, namespace: default}
spec:
  schedule: "@every 1s"
  contentType: application/json
  data: '{"tick": true}'
  sink: {ref: {apiVersion: eventing.knative.dev/v1, kind: Broker, name: default}}
"""
    filters = "  filter: {attributes: {type: dev.knative.sources.ping}}"
    platform = platform_factory(
        BROKER.format(delivery="{}") + ping + trigger("t", sink.url, filters)
    )
    platform.wait(lambda: len(sink.received) >= 2, timeout_s=30, what="two ticks")
    first = sink.received[0]
    assert first.headers["ce-source"] == "/apis/v1/namespaces/default/pingsources/tick"
    assert json.loads(first.body) == {"tick": True}

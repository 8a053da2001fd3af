"""Broker ingress, trigger filters, fan-out, replies, TTL, retries, dead letters, restart —
a real platform process and real HTTP subscribers on loopback."""

from __future__ import annotations

import base64
import json
import time

import pytest

from .conftest import BROKER, trigger

FAST = "{retry: 2, backoffPolicy: linear, backoffDelay: PT0.2S}"
CE = {
    "ce-specversion": "1.0",
    "ce-id": "1",
    "ce-source": "/t",
    "ce-type": "t.a",
    "content-type": "application/json",
}


def reply_headers(event_type: str) -> dict[str, str]:
    return {
        "ce-specversion": "1.0",
        "ce-id": f"r-{time.monotonic_ns()}",
        "ce-source": "/sub",
        "ce-type": event_type,
        "Content-Type": "application/json",
    }


def test_ingress_answers_like_knative(platform_factory, subscribers) -> None:
    sink = subscribers()
    platform = platform_factory(BROKER.format(delivery=FAST) + trigger("all", sink.url))
    assert platform.post("/default/default", b"{}", CE)[0] == 202
    status, _, body = platform.post("/default/default", b"{}", {**CE, "ce-id": ""})
    assert status == 400 and "id" in json.loads(body)["details"]
    plain = {"content-type": "application/json"}
    assert platform.post("/default/default", b"{}", plain)[0] == 400
    assert platform.post("/default/nope", b"{}", CE)[0] == 404
    assert platform.post("/", b"{}", CE)[0] == 404
    assert platform.post("/a/b/c", b"{}", CE)[0] == 400
    assert platform.post("/default/default", None, {}, method="GET")[0] == 405
    status, headers, _ = platform.post("/default/default", None, {}, method="OPTIONS")
    assert status == 200 and "POST" in headers["Allow"]
    assert platform.post("/default/default", b"{}", {**CE, "ce-knativebrokerttl": "0"})[0] == 400
    big = b'{"x": "' + b"a" * (5 * 1024 * 1024) + b'"}'
    assert platform.post("/default/default", big, CE)[0] == 413
    platform.wait(lambda: sink.received, what="delivery of the accepted event")
    delivered = sink.received[0].headers
    assert delivered["Prefer"] == "reply" and delivered["Kn-Namespace"] == "default"
    assert "knativearrivaltime" in {k.lower()[3:] for k in delivered if k.lower().startswith("ce-")}
    assert not any(k.lower() == "ce-knativebrokerttl" for k in delivered)  # stripped


FILTERS = {
    "legacy": ("  filter: {attributes: {type: t.a, source: /s}}", ["t.a|/s", "t.a|/s|subj"]),
    "legacy-empty": ("  filter: {attributes: {subject: ''}}", ["t.a|/s|subj"]),
    "exact": ("  filters: [{exact: {type: t.a}}]", ["t.a|/s", "t.a|/x", "t.a|/s|subj"]),
    "prefix": ("  filters: [{prefix: {type: t.}}]", ["t.a|/s", "t.a|/x", "t.b|/s", "t.a|/s|subj"]),
    "suffix": ("  filters: [{suffix: {source: /x}}]", ["t.a|/x"]),
    "all": (
        "  filters: [{all: [{exact: {type: t.a}}, {suffix: {source: s}}]}]",
        ["t.a|/s", "t.a|/s|subj"],
    ),
    "any": (
        "  filters: [{any: [{exact: {type: t.b}}, {exact: {source: /x}}]}]",
        ["t.a|/x", "t.b|/s"],
    ),
    "not": ("  filters: [{not: {exact: {type: t.a}}}]", ["t.b|/s"]),
    "cesql": (
        "  filters: [{cesql: \"type LIKE 't.%' AND NOT EXISTS subject AND source <> '/x'\"}]",
        ["t.a|/s", "t.b|/s"],
    ),
    "overrides": (
        "  filter: {attributes: {type: t.b}}\n  filters: [{exact: {source: /x}}]",
        ["t.a|/x"],
    ),
}


def test_filters_of_every_dialect(platform_factory, subscribers) -> None:
    sinks = {name: subscribers() for name in FILTERS}
    manifest = BROKER.format(delivery=FAST) + "".join(
        trigger(name, sinks[name].url, filters) for name, (filters, _) in FILTERS.items()
    )
    platform = platform_factory(manifest)
    sent = ["t.a|/s", "t.a|/x", "t.b|/s", "t.a|/s|subj"]
    for key in sent:
        event_type, source, *subject = key.split("|")
        headers = {**CE, "ce-id": key, "ce-type": event_type, "ce-source": source}
        if subject:
            headers["ce-subject"] = subject[0]
        assert platform.post("/default/default", b"{}", headers)[0] == 202
    platform.wait(lambda: len(platform.events()) == len(sent), what="all events accepted")
    platform.wait(  # a delivery exists only where a filter matched: all of them done
        lambda: all(d["state"] == "delivered" for e in platform.events() for d in e["deliveries"]),
        what="every matching delivery done",
    )
    for name, (_, expected) in FILTERS.items():
        got = sorted(r.headers["ce-id"] for r in sinks[name].received)
        assert got == sorted(expected), name


def test_invalid_filters_are_refused_at_start(tmp_path) -> None:
    from localknative.manifests import ManifestError, load

    (tmp_path / "m.yaml").write_text(
        BROKER.format(delivery=FAST)
        + trigger("bad", "http://x/", "  filters: [{exact: {type: a}, suffix: {type: b}}]")
    )
    with pytest.raises(ManifestError, match="only one dialect"):
        load(tmp_path)


def test_reply_re_enters_the_broker_and_fans_out(platform_factory, subscribers) -> None:
    answer = (200, reply_headers("t.reply"), b'{"ok": true}')
    first, second, third = subscribers(default=answer), subscribers(), subscribers()
    manifest = BROKER.format(delivery=FAST) + "".join(
        [
            trigger("first", first.url, "  filters: [{exact: {type: t.a}}]"),
            trigger("second", second.url, "  filters: [{exact: {type: t.reply}}]"),
            trigger("third", third.url, "  filters: [{exact: {type: t.reply}}]"),
        ]
    )
    platform = platform_factory(manifest)
    platform.send("t.a", {"n": 1}, binkstask="task-1")
    platform.wait(lambda: second.received and third.received, what="fan-out of the reply")
    replies = platform.events("t.reply")
    assert replies[0]["origin"] == "reply"
    assert replies[0]["attributes"]["knativebrokerttl"] == "254"
    assert json.loads(second.received[0].body) == {"ok": True}


def test_ttl_exhaustion_stops_a_reply_loop(platform_factory, subscribers) -> None:
    looper = subscribers(default=(200, reply_headers("t.loop"), b"{}"))
    platform = platform_factory(
        BROKER.format(delivery=FAST)
        + trigger("loop", looper.url, "  filters: [{exact: {type: t.loop}}]")
    )
    platform.send("t.loop", knativebrokerttl="3")
    platform.wait(
        lambda: [e for e in platform.events() if e["origin"] == "reply-dropped-ttl"],
        what="the loop guard",
    )
    platform.wait(
        lambda: all(d["state"] != "pending" for e in platform.events() for d in e["deliveries"]),
        what="every delivery finished",
    )
    # at-least-once: a retried delivery may repeat a level, never go below the guard
    events = [(e["origin"], e["attributes"]["knativebrokerttl"]) for e in platform.events()]
    assert {ttl for _, ttl in events} == {"3", "2", "1", "0"}, events
    assert {origin for origin, ttl in events if ttl == "0"} == {"reply-dropped-ttl"}, events
    dropped = [e for e in platform.events() if e["origin"] == "reply-dropped-ttl"]
    assert all(e["deliveries"] == [] for e in dropped), dropped  # never delivered
    assert len(looper.received) >= 3, len(looper.received)


def test_retry_with_backoff_then_dead_letter_with_error_extensions(platform_factory, subscribers):
    failing = subscribers(default=(500, {}, b"model exploded"))
    dead = subscribers()
    delivery = (
        f"  delivery: {{retry: 2, backoffPolicy: linear, backoffDelay: PT0.3S, "
        f"deadLetterSink: {{uri: '{dead.url}'}}}}"
    )
    platform = platform_factory(
        BROKER.format(delivery=FAST) + trigger("f", failing.url, "", delivery)
    )
    platform.send("t.a")
    platform.wait(lambda: dead.received, what="the dead letter")
    times = [r.at for r in failing.received]
    assert len(times) == 3  # one try + two retries
    assert times[1] - times[0] < 0.25 and 0.25 < times[2] - times[1] < 1.0  # linear: 0, d
    letter = {k.lower(): v for k, v in dead.received[0].headers.items()}
    assert letter["ce-knativeerrorcode"] == "500"
    assert letter["ce-knativeerrordest"] == failing.url
    assert base64.b64decode(letter["ce-knativeerrordata"]) == b"model exploded"
    (event,) = platform.events("t.a")
    assert event["deliveries"][0]["state"] == "failed" and event["deliveries"][0]["attempts"] == 3
    # what the dashboard and /metrics show of it: the reason decoded, each attempt counted
    (shown,) = platform.control("/_binks/dashboard/state")["dead_letters"]
    print(shown)
    assert (shown["code"], shown["reason"], shown["event_type"]) == (500, "model exploded", "t.a")
    metrics = platform.text("/metrics")
    assert 'binks_dead_letters_total{trigger="default/f"} 1.0' in metrics, metrics
    assert 'binks_delivery_retries_total{trigger="default/f"} 2.0' in metrics, metrics


@pytest.mark.parametrize(
    ("answer", "attempts"),
    [((400, {}, b"bad"), 1), ((200, {"Content-Type": "application/json"}, b'{"x": 1}'), 3)],
    ids=["400 is not retried", "non-event 2xx body is a 502, retried"],
)
def test_failures_that_go_to_the_dead_letter_sink(platform_factory, subscribers, answer, attempts):
    target, dead = subscribers(default=answer), subscribers()
    delivery = (
        f"  delivery: {{retry: 2, backoffDelay: PT0.05S, deadLetterSink: {{uri: '{dead.url}'}}}}"
    )
    platform = platform_factory(
        BROKER.format(delivery=FAST) + trigger("t", target.url, "", delivery)
    )
    platform.send("t.a")
    platform.wait(lambda: dead.received, what="the dead letter")
    assert len(target.received) == attempts


def test_accepted_events_survive_a_platform_kill(
    platform_factory, subscribers, tmp_path, closed_port
) -> None:
    port = closed_port.getsockname()[1]  # refused for now: every delivery waits to retry
    delivery = "  delivery: {retry: 50, backoffPolicy: linear, backoffDelay: PT0.1S}"
    manifest = BROKER.format(delivery=FAST) + trigger(
        "late", f"http://127.0.0.1:{port}/", "", delivery
    )
    state = tmp_path / "kept-state"
    platform = platform_factory(manifest, state=state)
    sent = {platform.send("t.a", {"n": n})[1] for n in range(5)}
    platform.stop(kill=True)  # SIGKILL: no clean shutdown
    late = subscribers(sock=closed_port)
    again = platform_factory(manifest, state=state)
    again.wait(
        lambda: {r.headers["ce-id"] for r in late.received} >= sent,
        timeout_s=30,
        what="redelivery after restart",
    )

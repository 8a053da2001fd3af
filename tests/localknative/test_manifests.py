"""The platform reads the same manifests a cluster applies; bad ones name file and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from localknative.manifests import (
    Delivery,
    ManifestError,
    go_duration,
    iso_duration,
    load,
    quantity,
)
from localknative.paths import REPO
from localknative.serving import function_for_image


def test_the_repository_manifests_load() -> None:
    loaded = load(REPO / "knative" / "base")
    assert ("default", "default") in loaded.brokers
    broker = loaded.brokers[("default", "default")]
    assert broker.delivery.dead_letter.service == "dead-letters"
    reviewer = loaded.services[("default", "code-reviewer-crewai")]
    assert reviewer.container_concurrency == 4 and reviewer.initial_scale == 0
    assert reviewer.readiness_path == "/health/readiness"
    assert {t.name for t in loaded.triggers} >= {"code-reviewer-agno", "code-reviewer-crewai"}
    for service in loaded.services.values():
        function_for_image(service.image)  # every image maps to local code (or is built in)


@pytest.mark.parametrize(
    ("text", "seconds"), [("PT0.2S", 0.2), ("PT1M", 60), ("PT1H30M", 5400), ("P1D", 86400)]
)
def test_iso_durations(text: str, seconds: float) -> None:
    assert iso_duration(text, "x") == pytest.approx(seconds)


def test_go_durations_and_quantities() -> None:
    assert go_duration("60s", "x") == 60 and go_duration("1.5m", "x") == 90
    assert quantity("512Mi", "x") == 512 * 2**20 and quantity("1G", "x") == 10**9


@pytest.mark.parametrize(
    ("policy", "waits"), [("linear", [0.0, 0.2, 0.4]), ("exponential", [0.2, 0.4, 0.8])]
)
def test_backoff_follows_knatives_code(policy: str, waits: list[float]) -> None:
    delivery = Delivery(retry=3, backoff_policy=policy, backoff_delay_s=0.2)
    assert [delivery.wait_before_retry(k) for k in (1, 2, 3)] == pytest.approx(waits)


@pytest.mark.parametrize(
    ("yaml_text", "message"),
    [
        (
            "kind: Trigger\napiVersion: eventing.knative.dev/v1\nmetadata: {name: t}\n"
            "spec: {broker: nope, subscriber: {uri: 'http://x/'}}",
            "broker 'nope' is not defined",
        ),
        (
            "kind: Broker\napiVersion: eventing.knative.dev/v1\nmetadata: {name: b}\n"
            "spec: {delivery: {backoffDelay: soon}}",
            "not an ISO-8601 duration",
        ),
        (
            "kind: Service\napiVersion: serving.knative.dev/v1\nmetadata: {name: s}\n"
            "spec: {template: {spec: {containers: []}}}",
            "exactly one image",
        ),
        ("kind: Broker\nmetadata: [unclosed", "cannot read YAML"),
    ],
)
def test_bad_manifests_name_the_problem(tmp_path: Path, yaml_text: str, message: str) -> None:
    (tmp_path / "bad.yaml").write_text(yaml_text)
    with pytest.raises(ManifestError, match=message) as caught:
        load(tmp_path)
    assert "bad.yaml" in str(caught.value) or "broker" in str(caught.value)


def test_images_map_to_function_folders() -> None:
    spec = function_for_image("ghcr.io/binks-functions/code-reviewer-crewai:0.1.0")
    assert (spec.role, spec.variant) == ("code_reviewer", "crewai")
    assert (
        function_for_image("gcr.io/knative-releases/knative.dev/eventing/cmd/event_display") is None
    )
    with pytest.raises(Exception, match="cannot run it locally"):
        function_for_image("nginx:latest")


def test_the_reporter_tick_is_a_ping_source_into_the_broker() -> None:
    loaded = load(REPO / "knative" / "base")
    tick = loaded.ping_sources[("default", "reporter-tick")]
    assert tick.schedule == "* * * * *" and tick.content_type == "application/json"
    assert tick.data == '{"tick": true}' and tick.timezone is None
    assert tick.sink.broker == "default" and tick.sink.namespace == "default"
    for variant in ("agno", "crewai"):
        (trigger,) = [t for t in loaded.triggers if t.name == f"reporter-{variant}-tick"]
        assert trigger.subscriber.service == f"reporter-{variant}"
        assert trigger.filters == (
            {
                "exact": {
                    "type": "dev.knative.sources.ping",
                    "source": "/apis/v1/namespaces/default/pingsources/reporter-tick",
                }
            },
        )


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("{sink: {ref: {apiVersion: eventing.knative.dev/v1, kind: Broker, name: b}}}", "schedule"),
        (
            "{schedule: '* * * * *', sink: {ref: {kind: Broker, name: nope}}}",
            "'nope' is not defined",
        ),
        ("{schedule: '* * * * *'}", "needs ref or uri"),
    ],
)
def test_bad_ping_sources_name_the_problem(tmp_path: Path, spec: str, message: str) -> None:
    (tmp_path / "broker.yaml").write_text(
        "kind: Broker\napiVersion: eventing.knative.dev/v1\nmetadata: {name: b}\n"
    )
    (tmp_path / "ping.yaml").write_text(
        f"kind: PingSource\napiVersion: sources.knative.dev/v1\nmetadata: {{name: p}}\nspec: {spec}"
    )
    with pytest.raises(ManifestError, match=message):
        load(tmp_path)


def test_a_ping_source_may_sink_to_a_uri(tmp_path: Path) -> None:
    (tmp_path / "ping.yaml").write_text(
        "kind: PingSource\napiVersion: sources.knative.dev/v1\nmetadata: {name: p}\n"
        "spec: {schedule: '*/5 * * * *', timezone: Europe/Berlin, sink: {uri: 'http://x/'}}"
    )
    source = load(tmp_path).ping_sources[("default", "p")]
    assert source.sink.uri == "http://x/" and source.timezone == "Europe/Berlin"
    assert source.data is None and source.content_type is None

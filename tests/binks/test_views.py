"""``binks events``: a line per event, JSON or YAML, the dead-letter reason decoded, the
delivery states as they change."""

from __future__ import annotations

import base64
import json
import sys

import pytest
import yaml

from binks import cli, views
from localknative.launch import RunningPlatform

from .conftest import on


def test_a_dead_letters_reason_is_decoded() -> None:
    answer = json.dumps({"error": "invalid_request", "reason": "repository: required"})
    attributes = {
        "type": "dev.binks.review.requested",
        "knativeerrordest": "http://code-reviewer-agno.default.svc",
        "knativeerrorcode": "400",
        "knativeerrordata": base64.b64encode(answer.encode()).decode(),
    }
    reason = views.dead_letter_reason(attributes)
    print(reason)
    assert reason == "HTTP 400 from http://code-reviewer-agno.default.svc: repository: required"
    assert views.dead_letter_reason({"type": "x"}) is None


def test_a_delivery_not_delivered_shows_its_last_error() -> None:
    row = {
        "deliveries": [
            {"trigger": "default/a", "state": "delivered", "attempts": 1, "last_error": None},
            {"trigger": "default/b", "state": "pending", "attempts": 2, "last_error": "HTTP 503"},
        ]
    }
    assert views.deliveries(row) == ["a:delivered(1)", "b:pending(2) last: HTTP 503"]
    assert not views.settled(row)


@pytest.mark.process
@pytest.mark.parametrize("platform", [{"summary": "fine", "findings": []}], indirect=True)
def test_events_as_lines_json_and_yaml(
    platform: RunningPlatform, capsys: pytest.CaptureFixture[str]
) -> None:
    options = on(platform)
    sent = [
        "send", *options, "--type", "dev.binks.review.requested",
        "--field", "repository=sample-repo",
        "--wait-for", "dev.binks.review.completed", "--count", "2",
    ]  # fmt: skip
    assert cli.main(sent) == 0
    capsys.readouterr()

    assert cli.main(["events", *options]) == 0
    lines = capsys.readouterr().out.splitlines()
    print("\n".join(lines), file=sys.stderr)  # stdout is what the next call is read from
    request = next(line for line in lines if "dev.binks.review.requested" in line)
    assert "code-reviewer-agno:delivered(1)" in request and "from /binks/cli" in request

    assert cli.main(["events", *options, "-o", "json", "--data"]) == 0
    out = capsys.readouterr().out
    records = [json.loads(line) for line in out.splitlines()]
    assert records[0]["data"] == {"repository": "sample-repo"} and records[0]["time"]
    assert {r["attributes"]["type"] for r in records[1:]} == {"dev.binks.review.completed"}

    assert cli.main(["events", *options, "-o", "yaml", "--type", "dev.binks.review.completed"]) == 0
    documents = yaml.safe_load(capsys.readouterr().out)
    assert len(documents) == 2, documents


@pytest.mark.process
@pytest.mark.parametrize("platform", [{"summary": "fine", "findings": []}], indirect=True)
def test_describe_shows_a_service_its_triggers_instances_and_events(
    platform: RunningPlatform, capsys: pytest.CaptureFixture[str]
) -> None:
    options = on(platform)
    sent = [
        "send", *options, "--type", "dev.binks.review.requested",
        "--field", "repository=sample-repo", "-e", "binksvariant=agno",
        "--wait-for", "dev.binks.review.completed",
    ]  # fmt: skip
    assert cli.main(sent) == 0
    capsys.readouterr()
    assert cli.main(["describe", "code-reviewer-agno", *options]) == 0
    out = capsys.readouterr().out
    print(out, file=sys.stderr)
    assert "Image:         ghcr.io/binks-functions/code-reviewer-agno:0.1.0" in out
    assert "Scale:         0-3 (initial 0), containerConcurrency 4, timeout 300s" in out
    assert "memory limit 160Mi, cpu request 250m" in out
    assert "  default/code-reviewer-agno  broker default" in out and "cesql" in out
    assert "Recent events (1 newest delivered to it):" in out
    assert "code-reviewer-agno:delivered(1)" in out
    assert cli.main(["describe", "nope", *options]) == 2
    assert "no Service 'nope'" in capsys.readouterr().err


def test_describe_shows_a_services_checkpoint_with_snapshot_start() -> None:
    row = {"restores": 3, "checkpoint": {"mib": 140.8, "dump_s": 0.153}}
    assert views._snapshot_lines(row) == [
        "Snapshot:      checkpoint 141 MiB (dumped in 0.15s), 3 restored start(s)"
    ]
    assert "no checkpoint yet" in views._snapshot_lines({"restores": 0, "checkpoint": None})[0]
    assert views._snapshot_lines({"cold_starts_s": []}) == []  # cold start: nothing shown

"""The local platform under attack from the same machine (a web page in the user's browser,
another local user, a client sending hostile events): each attack of the lockdown issue,
against a real ``binks up``, and the outcome a user relies on."""

from __future__ import annotations

import json
import os
import signal
import socket
import stat
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from localknative import cgroups, credential
from localknative.instances import FunctionProcess, FunctionSpec
from localknative.instances import rss as _rss
from localknative.paths import REPO, WORKSPACE
from localknative.paths import STATE as DEFAULT_STATE
from tests.faults.test_exposure import listening
from tests.localknative.conftest import BROKER, Platform, trigger

pytestmark = pytest.mark.faults

EVENT = {
    "ce-specversion": "1.0",
    "ce-id": "sec-1",
    "ce-source": "/security",
    "ce-type": "t.a",
    "content-type": "application/json",
}
JOB = {
    "apiVersion": "batch/v1",
    "kind": "Job",
    "metadata": {"name": "pwn"},
    "spec": {
        "template": {
            "spec": {
                "containers": [
                    {
                        "name": "w",
                        "image": "ghcr.io/binks-functions/worker:0.1.0",
                        "args": ["check", "sample-repo"],
                        "env": [{"name": "PYTHONWARNINGS", "value": "ignore::Warning:os"}],
                    }
                ]
            }
        }
    },
}
SERVICE = """
---
apiVersion: serving.knative.dev/v1
kind: Service
metadata: {name: code-reviewer-agno, namespace: default}
spec:
  template:
    metadata:
      annotations:
        autoscaling.knative.dev/initial-scale: "1"
        autoscaling.knative.dev/min-scale: "1"
    spec:
      containers:
        - image: example.org/binks/code-reviewer-agno:test
          env:
            - {name: BINKS_BIND, value: "0.0.0.0"}
            - {name: BINKS_MAX_BODY_BYTES, value: "1000"}
          resources: {limits: {memory: 600Mi}}
---
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata: {name: reviewer, namespace: default}
spec:
  broker: default
  filters: [{exact: {type: dev.binks.review.requested}}]
  subscriber:
    ref: {apiVersion: serving.knative.dev/v1, kind: Service, name: code-reviewer-agno}
"""


def call(
    platform: Platform,
    path: str,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
    method: str | None = None,
) -> tuple[int, dict]:
    """(status, JSON body) of a request to the platform; JSON even for errors."""
    request = urllib.request.Request(platform.url + path, body, headers or {}, method=method)
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status, json.loads(answer.read() or b"{}")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


@pytest.fixture
def platform(platform_factory, subscribers) -> Platform:
    return platform_factory(BROKER.format(delivery="{}") + trigger("t", subscribers().url))


# --- the control API: credential, Origin, Content-Type, Host ----------------------------


def test_the_credential_is_new_per_start_and_readable_by_its_user_only(platform) -> None:
    path = platform.state / credential.FILE_NAME
    mode = stat.S_IMODE(path.stat().st_mode)
    assert mode == 0o600, oct(mode)
    first = platform.running.token
    platform.stop()
    platform.start()
    assert platform.running.token != first


@pytest.mark.parametrize("path", ["/_binks/ps", "/_binks/events", "/_binks/jobs/default/x"])
@pytest.mark.parametrize("authorization", [None, "Bearer wrong", "Basic eDp5"])
def test_the_control_api_refuses_callers_without_the_credential(
    platform, path: str, authorization: str | None
) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    status, body = call(platform, path, headers=headers)
    assert (status, "credential" in body["error"]) == (401, True), (status, body)


def test_a_cross_site_simple_request_cannot_create_a_job(platform) -> None:
    """What any web page can send to loopback without a preflight: text/plain, no header
    of its own choosing. The Job is never created (and its env would be refused)."""
    body = json.dumps(JOB).encode()
    page = {"Content-Type": "text/plain", "Origin": "http://evil.example"}
    assert call(platform, "/_binks/jobs/default", body, page)[0] == 401
    auth = platform.running.auth()
    status, answer = call(platform, "/_binks/jobs/default", body, {**page, **auth})
    assert status == 403 and "cross-origin" in answer["error"], (status, answer)
    status, answer = call(
        platform, "/_binks/jobs/default", body, {**auth, "Content-Type": "text/plain"}
    )
    assert status == 415 and "application/json" in answer["error"], (status, answer)
    status, answer = call(platform, "/_binks/jobs/default/pwn", headers=auth)
    assert status == 404, (status, answer)  # nothing was created by any of the above


def test_a_job_env_that_steers_the_interpreter_is_refused_even_with_the_credential(
    platform,
) -> None:
    headers = {**platform.running.auth(), "Content-Type": "application/json"}
    status, answer = call(platform, "/_binks/jobs/default", json.dumps(JOB).encode(), headers)
    assert status == 422 and "PYTHONWARNINGS" in answer["error"], (status, answer)
    assert call(platform, "/_binks/jobs/default/pwn", headers=platform.running.auth())[0] == 404


def test_the_same_origin_is_not_foreign(platform) -> None:
    origin = {"Origin": platform.url, **platform.running.auth()}
    assert call(platform, "/_binks/ps", headers=origin)[0] == 200


@pytest.mark.parametrize(
    "host",
    [
        "evil.example",  # a rebinding domain that resolves to 127.0.0.1
        "evil.example:8470",
        "code-reviewer-agno.default.evil.example",  # routing only under local domains
        "localhost.evil.example",
    ],
)
def test_dns_rebinding_hosts_are_refused_everywhere(platform, host: str) -> None:
    auth = platform.running.auth()
    for path, body, headers in (
        ("/_binks/events", None, auth),  # would read every event
        ("/default/default", b"{}", EVENT),  # would publish
    ):
        status, answer = call(platform, path, body, {**headers, "Host": host})
        assert status == 403 and "not served here" in answer["error"], (path, status, answer)


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "LOCALHOST.", "[::1]:1"])
def test_loopback_hosts_are_served(platform, host: str) -> None:
    status, _ = call(platform, "/_binks/ps", headers={**platform.running.auth(), "Host": host})
    assert status == 200, host


# --- the event log: pages, bounded memory ------------------------------------------------


def test_reading_a_store_of_large_events_keeps_the_platform_small(platform) -> None:
    big = json.dumps({"blob": "x" * (3_900_000)}).encode()
    for n in range(12):
        assert platform.post("/default/default", big, {**EVENT, "ce-id": f"big-{n}"})[0] == 202
    before = _rss(platform.process.pid)
    rows = platform.events(data=True)  # every page, with data as the API cuts it
    after = _rss(platform.process.pid)
    assert len(rows) == 12
    assert all(r["data_bytes"] == len(big) and r["data_truncated"] for r in rows)
    assert all(len(r["data"]) <= 65536 for r in rows)
    grown = (after - before) / 2**20
    print(f"platform RSS {before / 2**20:.1f} → {after / 2**20:.1f} MiB reading 12 x 3.9 MB")
    assert grown < 48, f"RSS grew {grown:.1f} MiB"
    whole = urllib.request.Request(
        platform.url + f"/_binks/events/{rows[0]['seq']}/data", headers=platform.running.auth()
    )
    with urllib.request.urlopen(whole, timeout=30) as answer:
        assert answer.read() == big  # the whole body, streamed from the store


@pytest.mark.parametrize(
    "query",
    ["limit=100000", "limit=-1", "after=x", "order=sideways", "data_bytes=99999999", "nope=1"],
)
def test_event_queries_out_of_bounds_are_a_400(platform, query: str) -> None:
    status, answer = call(platform, f"/_binks/events?{query}", headers=platform.running.auth())
    assert status == 400 and answer["error"], (query, status, answer)


# --- ingress hygiene -----------------------------------------------------------------------


def test_the_broker_owns_ttl_arrival_time_and_error_attributes(platform, subscribers) -> None:
    headers = {
        **EVENT,
        "ce-knativebrokerttl": "1000000",
        "ce-knativearrivaltime": "1999-01-01T00:00:00Z",
        "ce-knativeerrorcode": "500",
        "ce-knativeerrordata": "Zm9yZ2Vk",
    }
    assert platform.post("/default/default", b"{}", headers)[0] == 202
    (row,) = platform.events()
    attributes = row["attributes"]
    assert attributes["knativebrokerttl"] == "255"  # clamped: the loop guard holds
    assert attributes["knativearrivaltime"] > "2026"  # the broker's clock, not the sender's
    assert not [k for k in attributes if k.startswith("knativeerror")], attributes


@pytest.mark.parametrize("ttl", ["0", "-5", "1e9", "ten"])
def test_an_exhausted_or_malformed_ttl_is_a_400(platform, ttl: str) -> None:
    status, _, body = platform.post(
        "/default/default", b"{}", {**EVENT, "ce-knativebrokerttl": ttl}
    )
    assert status == 400 and "knativebrokerttl" in json.loads(body)["error"], (ttl, body)


def test_control_characters_in_attributes_are_a_400(platform) -> None:
    event = {"specversion": "1.0", "id": "a\x00b", "source": "/s", "type": "t.a"}
    body = json.dumps(event).encode()
    status, _, answer = platform.post(
        "/default/default", body, {"Content-Type": "application/cloudevents+json"}
    )
    assert status == 400 and json.loads(answer), (status, answer)
    assert platform.events() == []


def test_a_deep_json_body_is_a_400_with_a_json_reason(platform) -> None:
    status, headers, body = platform.post("/default/default", b"[" * 100_000, EVENT)
    assert status == 400 and headers["Content-Type"].startswith("application/json"), body[:200]
    assert json.loads(body)["error"], body[:300]


def test_attributes_a_subscriber_could_not_take_are_refused_at_the_ingress(platform) -> None:
    event = {"specversion": "1.0", "id": "1", "source": "/s", "type": "t.a", "big": "x" * 300_000}
    status, _, body = platform.post(
        "/default/default",
        json.dumps(event).encode(),
        {"Content-Type": "application/cloudevents+json"},
    )
    assert status == 431 and "'big'" in json.loads(body)["error"], (status, body[:300])
    assert platform.events() == []


# --- functions: loopback only, body limits known at the ingress, cgroups cleaned -------------


@pytest.mark.process
def test_functions_listen_on_loopback_and_their_limits_hold_at_the_ingress(
    platform_factory,
) -> None:
    platform = platform_factory(BROKER.format(delivery="{}") + SERVICE)
    (instance,) = platform.wait(lambda: platform.ps()["code-reviewer-agno"]["instances"], 60)
    # the manifest says BINKS_BIND 0.0.0.0 (for containers); locally it is loopback
    assert listening(instance["port"]) == {"0100007F"}, instance
    body = json.dumps({"repository": "sample-repo", "focus": "x" * 2000}).encode()
    headers = {**EVENT, "ce-type": "dev.binks.review.requested"}
    status, _, answer = platform.post("/default/default", body, headers)
    assert status == 413 and "code-reviewer-agno" in json.loads(answer)["error"], answer
    assert platform.events() == []  # refused now, not dead-lettered later

    if cgroups.available():
        group = cgroups.ROOT / f"code-reviewer-agno-{instance['pid']}"
        assert group.is_dir(), group
        os.kill(instance["pid"], signal.SIGKILL)
        platform.wait(lambda: not group.exists(), 30, f"{group} removed")


# --- ports and the workspace -----------------------------------------------------------------


def test_an_instance_port_is_held_from_the_moment_it_is_chosen() -> None:
    process = FunctionProcess(FunctionSpec("code_reviewer", "agno"))
    try:
        with socket.socket() as intruder, pytest.raises(OSError):
            intruder.bind(("127.0.0.1", process.port))  # nobody can take it meanwhile
    finally:
        process.close_listener()


def test_no_code_picks_a_port_and_binds_it_later() -> None:
    offenders = [
        str(path.relative_to(REPO))
        for folder in ("binks", "bench", "localknative", "modelserver", "shared", "tests")
        for path in (REPO / folder).rglob("*.py")
        if "free_port" in path.read_text() and path.name != "test_security.py"
    ]
    assert offenders == []


def test_the_functions_workspace_holds_neither_the_project_nor_the_state() -> None:
    assert not DEFAULT_STATE.resolve().is_relative_to(WORKSPACE.resolve())
    assert not REPO.resolve().is_relative_to(WORKSPACE.resolve())
    assert sorted(p.name for p in WORKSPACE.iterdir()) == ["sample-repo"]
    assert not list(Path(WORKSPACE).rglob("*.gguf"))

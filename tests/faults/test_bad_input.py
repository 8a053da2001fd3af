"""Hostile input, one corpus, two doors: every kind of request the CloudEvents 1.0 spec
(or our limits) rules out, sent to the real broker ingress and to every role's app on
both variants. Each gets a 4xx with a JSON reason; nothing is accepted or run."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from events import VARIANTS
from functions.cluster_operator.role import ROLE as CLUSTER_OPERATOR
from functions.code_reviewer.role import ROLE as CODE_REVIEWER
from functions.orchestrator.role import ROLE as ORCHESTRATOR
from functions.reporter.role import ROLE as REPORTER
from shared.role import AgentTask
from shared.runtime import create_app
from tests.localknative.conftest import BROKER, Platform, trigger

pytestmark = pytest.mark.faults

REPO = Path(__file__).parents[2]
ROLES = (CODE_REVIEWER, ORCHESTRATOR, CLUSTER_OPERATOR, REPORTER)
DATA = json.dumps({"repository": "sample-repo"}).encode()
BINARY = {
    "ce-specversion": "1.0",
    "ce-id": "bad-1",
    "ce-source": "/faults",
    "ce-type": "dev.binks.review.requested",
    "content-type": "application/json",
}
STRUCTURED = {
    "specversion": "1.0",
    "id": "bad-1",
    "source": "/faults",
    "type": "dev.binks.review.requested",
    "datacontenttype": "application/json",
    "data": {"repository": "sample-repo"},
}
CE_JSON = {"content-type": "application/cloudevents+json"}


def binary(**changes: str | None) -> tuple[dict[str, str], bytes]:
    headers = {**BINARY, **{k.replace("_", "-"): v for k, v in changes.items()}}
    return {k: v for k, v in headers.items() if v is not None}, DATA


def structured(**changes: object) -> tuple[dict[str, str], bytes]:
    event = {k: v for k, v in {**STRUCTURED, **changes}.items() if v is not ...}
    return CE_JSON, json.dumps(event).encode()


#: request → (status, the attribute the reason must name, or None)
CORPUS: dict[str, tuple[tuple[dict[str, str], bytes], int, str | None]] = {
    **{
        f"binary without {name}": (binary(**{f"ce-{name}": None}), 400, name)
        for name in ("id", "source", "type", "specversion")
    },
    **{
        f"binary with empty {name}": (binary(**{f"ce-{name}": ""}), 400, name)
        for name in ("id", "source", "type", "specversion")
    },
    **{
        f"structured without {name}": (structured(**{name: ...}), 400, name)
        for name in ("id", "source", "type", "specversion")
    },
    **{
        f"structured with empty {name}": (structured(**{name: ""}), 400, name)
        for name in ("id", "source", "type", "specversion")
    },
    "binary specversion 0.3": (binary(**{"ce-specversion": "0.3"}), 400, "specversion"),
    "structured specversion 2.0": (structured(specversion="2.0"), 400, "specversion"),
    "structured id is a number": (structured(id=7), 400, "id"),
    "binary time not RFC 3339": (binary(**{"ce-time": "25/11/2026 12:00"}), 400, "time"),
    "structured impossible time": (structured(time="2026-02-30T25:00:00Z"), 400, "time"),
    "binary relative dataschema": (binary(**{"ce-dataschema": "schema.json"}), 400, "dataschema"),
    "structured dataschema with spaces": (
        structured(dataschema="http://example.org/a schema"),
        400,
        "dataschema",
    ),
    "binary extension name with dash": (binary(**{"ce-bad-name": "x"}), 400, "bad-name"),
    "binary extension name with underscore": (({**BINARY, "ce-bad_name": "x"}, DATA), 400, None),
    "binary extension name over 20": (binary(**{"ce-" + "a" * 21: "x"}), 400, "a" * 21),
    "structured extension name upper case": (structured(BinksTask="x"), 400, "BinksTask"),
    "structured extension value an object": (structured(binkstask={"a": 1}), 400, "binkstask"),
    "binary bad media type": (binary(**{"content-type": "json"}), 400, "datacontenttype"),
    "binary JSON body that is not JSON": ((BINARY, b"{not json"), 400, "data"),
    "structured array": ((CE_JSON, b"[1, 2]"), 400, None),
    "structured string": ((CE_JSON, b'"event"'), 400, None),
    "structured null": ((CE_JSON, b"null"), 400, None),
    "structured invalid JSON": ((CE_JSON, b'{"specversion": "1.0",'), 400, None),
    "structured empty body": ((CE_JSON, b""), 400, None),
    "structured data and data_base64": (structured(data_base64="e30="), 400, "data"),
    "structured bad base64": (structured(data=..., data_base64="%%%"), 400, "data_base64"),
    "batch": (({"content-type": "application/cloudevents-batch+json"}, b"[]"), 400, None),
    "text/plain": (({"content-type": "text/plain"}, b"hello"), 415, None),
    "xml": (({"content-type": "application/xml"}, b"<event/>"), 415, None),
    "no content type": (({}, b"hello"), 415, None),
}


class StubRunner:
    """Never called: a bad request must not reach the agent."""

    variant = "agno"

    def __init__(self) -> None:
        self.tasks: list[AgentTask] = []

    def run(self, task: AgentTask) -> str:
        self.tasks.append(task)
        raise AssertionError("a bad request reached the agent")


@pytest.fixture(scope="module")
def apps(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[FlaskClient, StubRunner]]:
    state = tmp_path_factory.mktemp("function-state")
    made = {}
    for role in ROLES:
        for variant in VARIANTS:
            runner = StubRunner()
            env = {
                "BINKS_REPO_BASE": str(REPO / "workspace"),
                "BINKS_STATE_DIR": str(state),
                "BINKS_MAX_BODY_BYTES": str(64 * 1024),
            }
            app = create_app(role, variant, runner=runner, env=env)
            app.config["TESTING"] = False
            made[f"{role.name}-{variant}"] = (app.test_client(), runner)
    return made


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    from tests.localknative.conftest import Subscriber

    sink = Subscriber()
    directory = tmp_path_factory.mktemp("bad-input")
    (directory / "manifests").mkdir()
    manifest = BROKER.format(delivery="{retry: 0}") + trigger("all", sink.url)
    (directory / "manifests" / "all.yaml").write_text(manifest)
    platform = Platform(directory / "manifests", directory / "state").start()
    platform.sink = sink
    yield platform
    platform.stop()
    sink.close()


def check_reason(status: int, body: bytes, expected: int, attribute: str | None) -> None:
    assert status == expected, body
    answer = json.loads(body)
    assert answer.get("reason") or answer.get("error")  # a JSON reason a person can read
    if attribute is not None:
        assert attribute in answer["details"], answer


@pytest.mark.parametrize(("request_", "status", "attribute"), CORPUS.values(), ids=CORPUS.keys())
def test_the_broker_refuses_it(broker: Platform, request_, status, attribute) -> None:
    headers, body = request_
    answer_status, _, answer = broker.post("/default/default", body, headers)
    check_reason(answer_status, answer, status, attribute)


@pytest.mark.parametrize(("request_", "status", "attribute"), CORPUS.values(), ids=CORPUS.keys())
def test_every_function_refuses_it(apps, request_, status, attribute) -> None:
    headers, body = request_
    for name, (client, runner) in apps.items():
        response = client.post("/", data=body, headers=headers)
        check_reason(response.status_code, response.get_data(), status, attribute)
        assert runner.tasks == [], name


def test_bodies_over_the_documented_limits_are_413(broker: Platform, apps) -> None:
    big = json.dumps({"repository": "x" * (5 * 1024 * 1024)}).encode()  # broker: 4 MiB
    status, _, answer = broker.post("/default/default", big, BINARY)
    assert status == 413 and "4194304" in json.loads(answer)["error"]
    for name, (client, _) in apps.items():  # functions: BINKS_MAX_BODY_BYTES
        response = client.post("/", data=big[: 128 * 1024], headers=BINARY)
        assert response.status_code == 413, name
        assert response.get_json()["error"] == "payload_too_large"


def test_nothing_refused_was_stored_or_delivered(broker: Platform) -> None:
    """Runs after the corpus (same module): the broker accepted none of it."""
    assert broker.events() == []
    assert broker.sink.received == []

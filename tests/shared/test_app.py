"""The function app as a caller sees it: statuses, reply events, JSON errors, logs."""

from __future__ import annotations

import json
import os
from dataclasses import replace
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from functions.code_reviewer.role import ROLE
from shared.errors import ModelUnavailable
from shared.runtime import create_app
from shared.runtime.app import RoleNotConfigured
from tests.shared.fixed_runner import FixedRunner as FakeRunner

REPO = Path(__file__).parents[2]
ANSWER = {
    "summary": "one bug",
    "findings": [
        {"path": "inventory.py", "line": 12, "severity": "high", "message": "shared list"}
    ],
}
ANSWER_TEXT = json.dumps(ANSWER)
REQUEST = {"repository": "sample-repo", "max_findings": 3}
CE = {
    "ce-specversion": "1.0",
    "ce-id": "req-1",
    "ce-source": "/tests",
    "ce-type": "dev.binks.review.requested",
    "content-type": "application/json",
}


def client_for(answer: str | Exception = ANSWER_TEXT, **env: str) -> FlaskClient:
    app = create_app(
        ROLE,
        "agno",
        runner=FakeRunner(answer),
        env={
            "BINKS_REPO_BASE": str(REPO / "workspace"),
            "BINKS_MODEL": "m1",
            "BINKS_STATE_DIR": os.environ["BINKS_STATE_DIR"],
            **env,
        },
    )
    app.config["TESTING"] = False  # exercise the real error handlers
    return app.test_client()


@pytest.fixture
def client() -> FlaskClient:
    return client_for()


def post_event(client: FlaskClient, data: object = REQUEST, **headers: str):
    return client.post("/", data=json.dumps(data), headers={**CE, **headers})


def test_binary_request_gets_a_binary_reply_event(client: FlaskClient) -> None:
    response = post_event(client, **{"ce-binkstask": "task-9"})
    assert response.status_code == 200
    assert response.headers["ce-type"] == "dev.binks.review.completed"
    assert response.headers["ce-source"] == "/binks/functions/code-reviewer-agno"
    assert response.headers["ce-binksvariant"] == "agno"
    assert response.headers["ce-binkstask"] == "task-9"
    assert response.headers["ce-specversion"] == "1.0"
    assert response.headers["content-type"] == "application/json"
    data = response.get_json()
    assert data["findings"] == ANSWER["findings"]
    assert (data["model"], data["variant"], data["repository"]) == (
        "m1",
        "agno",
        "sample-repo",
    )


def test_structured_request_is_accepted_and_task_defaults_to_the_event_id(client) -> None:
    event = {
        "specversion": "1.0",
        "id": "e-42",
        "source": "/t",
        "type": CE["ce-type"],
        "data": REQUEST,
    }
    response = client.post(
        "/", data=json.dumps(event), headers={"content-type": "application/cloudevents+json"}
    )
    assert response.status_code == 200
    assert response.headers["ce-binkstask"] == "e-42"


def test_k_service_names_the_source() -> None:
    response = post_event(client_for(K_SERVICE="reviewer-x"))
    assert response.headers["ce-source"] == "/binks/functions/reviewer-x"


def test_plain_http_answers_with_the_reply_data(client: FlaskClient) -> None:
    response = client.post("/", json=REQUEST)
    assert response.status_code == 200
    assert "ce-type" not in response.headers
    assert response.get_json()["findings"] == ANSWER["findings"]


def test_other_event_types_are_done_with_an_empty_2xx(client: FlaskClient) -> None:
    response = post_event(client, **{"ce-type": "dev.binks.review.completed"})
    assert (response.status_code, response.data) == (202, b"")


def test_request_for_the_other_variant_is_left_to_it(client: FlaskClient) -> None:
    response = post_event(client, **{"ce-binksvariant": "crewai"})
    assert (response.status_code, response.data) == (202, b"")


def test_request_for_this_variant_is_handled(client: FlaskClient) -> None:
    assert post_event(client, **{"ce-binksvariant": "agno"}).status_code == 200


def test_unknown_variant_is_a_bad_request(client: FlaskClient) -> None:
    response = post_event(client, **{"ce-binksvariant": "langchain"})
    assert response.status_code == 400
    assert "binksvariant" in response.get_json()["details"]


def test_kn_func_invoke_default_event_teaches_the_contract(client: FlaskClient) -> None:
    response = post_event(
        client, {"message": "Hello World"}, **{"ce-type": "boson.fn", "ce-source": "/boson/fn"}
    )
    body = response.get_json()
    assert response.status_code == 400
    assert body["error"] == "unsupported_event"
    assert "dev.binks.review.requested" in body["reason"]
    assert body["details"]["example_data"]["repository"]
    assert body["details"]["try"].startswith("kn func invoke --format cloudevent --type")
    assert body["details"]["try_locally"].startswith("binks invoke "), body["details"]


def test_kn_func_invoke_default_http_body_names_the_fields(client: FlaskClient) -> None:
    response = client.post("/", json={"message": "Hello World"})
    body = response.get_json()
    assert response.status_code == 400
    assert body["error"] == "invalid_data"
    assert "repository" in body["reason"] and "message" in body["reason"]
    assert "example_data" in body["details"]


def test_data_breaking_the_schema_names_the_field(client: FlaskClient) -> None:
    response = post_event(client, {"repository": "x", "max_findings": 500})
    assert response.status_code == 400
    assert "max_findings" in response.get_json()["details"]


def test_invalid_event_lists_all_problems(client: FlaskClient) -> None:
    response = post_event(client, **{"ce-specversion": "0.3", "ce-time": "noon"})
    body = response.get_json()
    assert response.status_code == 400
    assert set(body["details"]) == {"specversion", "time"}


def test_repository_outside_the_workspace_is_refused(client: FlaskClient) -> None:
    response = post_event(client, {"repository": "../../etc"})
    assert response.status_code == 400
    assert "outside" in response.get_json()["reason"]


def test_unusable_model_answer_becomes_a_failed_event() -> None:
    response = post_event(client_for("I think the code is fine!"))
    assert response.status_code == 200
    assert response.headers["ce-type"] == "dev.binks.review.failed"
    assert response.get_json()["error"] == "invalid_model_answer"


def test_unusable_model_answer_on_plain_http_is_a_502() -> None:
    response = client_for('{"summary": 3}').post("/", json=REQUEST)
    assert response.status_code == 502
    assert "summary" in response.get_json()["reason"]


def test_model_down_is_a_503_so_knative_retries() -> None:
    response = post_event(client_for(ModelUnavailable("connection refused")))
    assert response.status_code == 503
    assert response.get_json() == {"error": "model_unavailable", "reason": "connection refused"}


def test_a_bug_is_a_generic_500_without_traceback(capfd) -> None:
    response = post_event(client_for(KeyError("secret internals")))
    assert response.status_code == 500
    assert "secret" not in response.get_data(as_text=True)
    assert "Traceback" in capfd.readouterr().err  # the traceback goes to the log only


def test_body_over_the_limit_is_a_413() -> None:
    response = post_event(client_for(BINKS_MAX_BODY_BYTES="100"), {"repository": "x" * 200})
    assert response.status_code == 413
    assert response.get_json()["error"] == "payload_too_large"


def test_wrong_content_type_is_a_415(client: FlaskClient) -> None:
    response = client.post("/", data="hello", headers={"content-type": "text/plain"})
    assert response.status_code == 415
    assert response.get_json()["error"] == "unsupported_media_type"


@pytest.mark.parametrize(("method", "path", "status"), [("get", "/", 405), ("post", "/x", 404)])
def test_routing_errors_are_json(client: FlaskClient, method: str, path: str, status: int) -> None:
    response = getattr(client, method)(path)
    assert response.status_code == status
    assert "error" in response.get_json()


@pytest.mark.parametrize("path", ["/health/readiness", "/health/liveness"])
def test_health_endpoints(client: FlaskClient, path: str) -> None:
    assert client.get(path).status_code == 200


def event_lines(err: str) -> list[dict]:
    return [json.loads(line) for line in err.splitlines() if '"msg": "event"' in line]


def test_one_json_log_line_per_event_that_cannot_be_forged(client, capfd) -> None:
    capfd.readouterr()
    forged_id = 'req-1", "forged": true, "x": "'
    post_event(client, **{"ce-id": forged_id, "ce-binkstask": "t1"})
    (entry,) = event_lines(capfd.readouterr().err)
    assert entry["id"] == forged_id and "forged" not in entry, entry
    assert (entry["status"], entry["task"], entry["variant"]) == (200, "t1", "agno")
    assert entry["type"] == "dev.binks.review.requested" and entry["source"] == "/tests"
    assert isinstance(entry["duration_ms"], int)


def test_a_refused_event_is_one_log_line_too(client, capfd) -> None:
    capfd.readouterr()
    response = post_event(client, **{"ce-source": '/x%0A{"forged": true}'})
    (entry,) = event_lines(capfd.readouterr().err)
    assert (response.status_code, entry["status"]) == (400, 400), entry
    assert "forged" not in entry


def test_configure_runs_once_with_the_environment_create_app_was_given() -> None:
    seen: list[dict] = []
    role = replace(ROLE, configure=lambda env, context: seen.append(dict(env)))
    env = {"BINKS_STATE_DIR": os.environ["BINKS_STATE_DIR"], "ONLY_THIS": "1"}
    client = create_app(role, "agno", runner=FakeRunner(ANSWER_TEXT), env=env).test_client()
    assert client.get("/health/readiness").status_code == 200
    assert seen == [env]


def test_a_failed_configure_refuses_to_build_the_app_and_says_why(capfd) -> None:
    def configure(env, context):
        raise ValueError("BINKS_SOMETHING must be a number, got 'x'")

    role = replace(ROLE, configure=configure)
    env = {"BINKS_STATE_DIR": os.environ["BINKS_STATE_DIR"]}
    with pytest.raises(RoleNotConfigured, match="code-reviewer-agno cannot start") as refused:
        create_app(role, "agno", runner=FakeRunner(ANSWER_TEXT), env=env)
    assert isinstance(refused.value.__cause__, ValueError)
    lines = [json.loads(line) for line in capfd.readouterr().err.splitlines()]
    assert lines[-1] == {
        "msg": "configure failed",
        "service": "code-reviewer-agno",
        "variant": "agno",
        "error": "ValueError: BINKS_SOMETHING must be a number, got 'x'",
    }
    assert not any(line.get("msg") == "ready" for line in lines)


def test_unknown_variant_cannot_build_an_app() -> None:
    with pytest.raises(ValueError, match="unknown variant"):
        create_app(ROLE, "langchain", runner=FakeRunner(""))

"""``shared.runtime.dispatch``: requests routed to the role's step by event type, with
the role's configuration; at-least-once delivery meets idempotent handlers; roles
publish extra events to K_SINK."""

from __future__ import annotations

import json
import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from events import CLUSTER_INSPECT_REQUESTED, PING, TASK_FAILED, TASK_PLANNED, TASK_REQUESTED
from shared.role import AgentStep, AgentTask, DirectStep, FailedReply, Prompt, Reply, Role
from shared.runtime import create_app

PLAN = {"goal": "g", "summary": "s", "steps": [], "model": "m", "variant": "agno"}
INSPECT = {"namespace": "default", "question": "healthy?"}


class CountingRunner:
    variant = "agno"

    def __init__(self) -> None:
        self.runs = 0

    def run(self, task: AgentTask) -> str:
        self.runs += 1
        return "{}"


def common(data, context) -> dict:
    return {"goal": data["goal"], "model": context.model, "variant": context.variant}


def planner(emits: bool, configured: list | None = None) -> Role:
    """A role that plans (with the model) and answers clock ticks (without it); its
    ``configure`` counts its runs in ``configured`` and returns the emits switch."""

    def configure(env, context) -> dict:
        if configured is not None:
            configured.append(env)
        return {"emits": emits}

    def finish(data, answer, context, config) -> Reply:
        extra = (Reply(CLUSTER_INSPECT_REQUESTED, INSPECT),) if config["emits"] else ()
        return Reply(TASK_PLANNED, PLAN, emits=extra)

    plan = AgentStep(
        instructions="plan it",
        ask=lambda data, context, config: Prompt("plan"),
        answer_schema={"type": "object"},
        finish=finish,
        on_unusable_answer=FailedReply(TASK_FAILED, common, noun="plan"),
    )
    tick = DirectStep(lambda data, context, config: None)
    return Role(
        name="planner",
        title="Planner",
        goal="plan",
        request_type=TASK_REQUESTED,
        handlers={TASK_REQUESTED: plan, PING: tick},
        reply_types=(TASK_PLANNED,),
        configure=configure,
    )


@pytest.fixture
def sink():
    received: list[tuple[dict, bytes]] = []

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args) -> None:
            pass

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append(({k.lower(): v for k, v in self.headers.items()}, body))
            self.send_response(202)
            self.send_header("Content-Length", "0")
            self.end_headers()

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    server.received = received
    server.url = f"http://127.0.0.1:{server.server_address[1]}/default/default"
    yield server
    server.shutdown()
    server.server_close()


def client(role: Role, runner, **env: str):
    env = {"BINKS_STATE_DIR": os.environ["BINKS_STATE_DIR"], **env}
    return create_app(role, "agno", runner=runner, env=env).test_client()


def post(http, event_id: str = "e-1", task: str = "t-1", event_type: str = TASK_REQUESTED):
    headers = {
        "ce-specversion": "1.0",
        "ce-id": event_id,
        "ce-source": "/tests",
        "ce-type": event_type,
        "ce-binkstask": task,
        "content-type": "application/json",
    }
    data = {"goal": "g"} if event_type == TASK_REQUESTED else {"tick": True}
    return http.post("/", data=json.dumps(data), headers=headers)


def test_configure_runs_once_with_the_app_s_environment_not_per_request() -> None:
    configured: list = []
    http = client(planner(emits=False, configured=configured), CountingRunner(), BINKS_X="1")
    post(http, event_id="e-1")
    post(http, event_id="e-2")
    (env,) = configured
    assert env["BINKS_X"] == "1" and "PATH" not in env, env  # only what create_app was given


def test_each_event_type_goes_to_its_own_step() -> None:
    runner = CountingRunner()
    http = client(planner(emits=False), runner)
    tick = post(http, event_id="tick-1", event_type=PING)
    assert (tick.status_code, tick.get_data(), runner.runs) == (202, b"", 0)
    planned = post(http, event_id="goal-1")
    assert (planned.status_code, planned.headers["ce-type"], runner.runs) == (200, TASK_PLANNED, 1)


def test_an_unusable_answer_becomes_the_step_s_failed_reply_once() -> None:
    class Prose(CountingRunner):
        def run(self, task: AgentTask) -> str:
            super().run(task)
            return "a plan, in prose"

    runner = Prose()
    response = post(client(planner(emits=True), runner, BINKS_MODEL="m"))
    assert (response.status_code, response.headers["ce-type"]) == (200, TASK_FAILED)
    assert response.get_json() == {
        "goal": "g",
        "model": "m",
        "variant": "agno",
        "error": "invalid_model_answer",
        "reason": "the model's answer is not a valid plan: the answer contains no JSON object",
    }
    assert runner.runs == 1


def test_a_redelivered_event_is_answered_without_running_again() -> None:
    runner = CountingRunner()
    http = client(planner(emits=False), runner)
    first, again = post(http), post(http)
    assert runner.runs == 1
    assert (again.status_code, again.get_data()) == (first.status_code, first.get_data())
    assert again.headers["ce-id"] == first.headers["ce-id"]
    post(http, event_id="e-2")
    assert runner.runs == 2


def test_the_first_answer_survives_a_restart() -> None:
    runner = CountingRunner()
    first = post(client(planner(emits=False), runner))
    again = post(client(planner(emits=False), runner))  # a new instance, same state dir
    assert runner.runs == 1 and again.get_data() == first.get_data()


def test_extra_events_go_to_k_sink_with_task_and_variant(sink) -> None:
    response = post(client(planner(emits=True), CountingRunner(), K_SINK=sink.url), task="t-9")
    assert response.status_code == 200 and response.headers["ce-type"] == TASK_PLANNED
    ((headers, body),) = sink.received
    assert headers["ce-type"] == CLUSTER_INSPECT_REQUESTED
    assert (headers["ce-binkstask"], headers["ce-binksvariant"]) == ("t-9", "agno")
    assert headers["ce-source"] == "/binks/functions/planner-agno"
    assert json.loads(body) == INSPECT


def test_emitted_ids_are_stable_across_redelivery(sink, tmp_path) -> None:
    for state in ("a", "b"):  # two instances that share nothing: the ids still match
        post(
            client(
                planner(emits=True),
                CountingRunner(),
                K_SINK=sink.url,
                BINKS_STATE_DIR=str(tmp_path / state),
            )
        )
    first, second = (headers["ce-id"] for headers, _ in sink.received)
    assert first == second


def test_an_unreachable_sink_is_a_503_and_nothing_is_cached() -> None:
    runner = CountingRunner()
    http = client(planner(emits=True), runner, K_SINK="http://127.0.0.1:9/default/default")
    assert post(http).status_code == 503
    assert post(http).status_code == 503
    assert runner.runs == 2  # retried for real, not answered from a cache

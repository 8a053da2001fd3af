"""``shared.role``: a role's table of steps, and ``run_step``, the one path every variant
takes around its framework (the model's answer read and checked there, once)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from events import REVIEW_COMPLETED, REVIEW_FAILED, REVIEW_REQUESTED, TASK_PLANNED
from shared.errors import ModelUnavailable
from shared.role import (
    INVALID_MODEL_ANSWER,
    AgentStep,
    AgentTask,
    Context,
    DirectStep,
    FailedReply,
    Fallback,
    Prompt,
    Reply,
    Role,
    Tool,
    failure,
    run_step,
)
from tests.shared.fixed_runner import FixedRunner as Runner

SCHEMA = {
    "type": "object",
    "properties": {"verdict": {"type": "string", "minLength": 1}},
    "required": ["verdict"],
    "additionalProperties": False,
}
CONTEXT = Context(variant="agno", model="m", workspace=Path("."), event_type=REVIEW_REQUESTED)
CONFIG = {"configured": True}


def look() -> str:
    """Look around."""
    return "nothing"


class Finished:
    """A step's finish that records what it was given."""

    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []

    def __call__(self, data, answer, context, config) -> Reply:
        self.calls.append((data, answer, context, config))
        return Reply(REVIEW_COMPLETED, {"verdict": answer["verdict"]})


def common(data, context: Context) -> dict[str, Any]:
    return {"repository": data["repository"], "variant": context.variant}


def step(finish: Finished, ask=None, on_unusable=None) -> AgentStep:
    return AgentStep(
        instructions="Judge the repository.",
        ask=ask or (lambda data, context, config: Prompt(f"judge {data['repository']}", (TOOL,))),
        answer_schema=SCHEMA,
        finish=finish,
        on_unusable_answer=on_unusable or FailedReply(REVIEW_FAILED, common, noun="verdict"),
        max_tool_calls=3,
    )


def role(review: AgentStep, **handlers: Any) -> Role:
    return Role(
        name="judge",
        title="Judge",
        goal="Judge code.",
        request_type=REVIEW_REQUESTED,
        handlers={REVIEW_REQUESTED: review, **handlers},
        reply_types=(REVIEW_COMPLETED, REVIEW_FAILED),
    )


TOOL = Tool("look", look)
DATA = {"repository": "r"}


def test_an_agent_step_runs_the_model_with_everything_the_runner_needs() -> None:
    runner, finish = Runner(), Finished()
    reply = run_step(role(step(finish)), runner, DATA, CONTEXT, CONFIG)
    assert reply == Reply(REVIEW_COMPLETED, {"verdict": "fine"})
    assert runner.tasks == [
        AgentTask(
            title="Judge",
            goal="Judge code.",
            instructions="Judge the repository.",
            prompt="judge r",
            tools=(TOOL,),
            answer_format=None,
            max_tool_calls=3,
        )
    ]


def test_finish_gets_the_checked_answer_the_config_and_the_run_time() -> None:
    finish = Finished()
    run_step(role(step(finish)), Runner(), DATA, CONTEXT, CONFIG)
    ((data, answer, context, config),) = finish.calls
    assert (data, answer, config) == (DATA, {"verdict": "fine"}, CONFIG)
    assert isinstance(context.elapsed_ms, int) and context.elapsed_ms >= 0
    assert context.event_type == REVIEW_REQUESTED


def test_structured_answer_sends_exactly_the_schema_that_is_checked() -> None:
    runner = Runner()
    run_step(role(step(Finished())), runner, DATA, CONTEXT, CONFIG, structured_answer=True)
    assert runner.tasks[0].answer_format == SCHEMA


@pytest.mark.parametrize(
    ("answer", "problem"),
    [
        ("looks fine to me", "the answer contains no JSON object"),
        ('{"verdict": ""}', "verdict: '' should be non-empty"),
        ('{"verdict": "ok", "score": 3}', "Additional properties are not allowed"),
    ],
)
def test_an_unusable_answer_is_the_step_s_failed_reply_and_finish_never_runs(
    answer: str, problem: str
) -> None:
    finish = Finished()
    reply = run_step(role(step(finish)), Runner(answer), DATA, CONTEXT, CONFIG)
    assert reply is not None and reply.failed and reply.type == REVIEW_FAILED, reply
    assert reply.data == {
        "repository": "r",
        "variant": "agno",
        "error": INVALID_MODEL_ANSWER,
        "reason": reply.data["reason"],
    }
    assert reply.data["reason"].startswith("the model's answer is not a valid verdict: ")
    assert problem in reply.data["reason"], reply.data["reason"]
    assert finish.calls == []


def test_a_fallback_finishes_with_a_placeholder_answer() -> None:
    finish = Finished()
    fallback = Fallback(lambda problem: {"verdict": f"(unusable: {problem})"})
    reply = run_step(role(step(finish, on_unusable=fallback)), Runner("?"), DATA, CONTEXT, CONFIG)
    assert reply == Reply(
        REVIEW_COMPLETED, {"verdict": "(unusable: the answer contains no JSON object)"}
    )


@pytest.mark.parametrize("answered", [None, failure(REVIEW_FAILED, DATA, "refused", "no")])
def test_ask_may_answer_without_the_model(answered: Reply | None) -> None:
    runner, finish = Runner(), Finished()
    review = step(finish, ask=lambda data, context, config: answered)
    assert run_step(role(review), runner, DATA, CONTEXT, CONFIG) == answered
    assert runner.tasks == [] and finish.calls == []


def test_a_direct_step_gets_data_context_and_config_and_no_model_runs() -> None:
    seen: list[tuple[Any, ...]] = []

    def record(data, context, config) -> None:
        seen.append((data, context.event_type, config))

    runner = Runner()
    judge = role(step(Finished()), **{TASK_PLANNED: DirectStep(record)})
    context = Context(variant="agno", model="m", workspace=Path("."), event_type=TASK_PLANNED)
    assert run_step(judge, runner, {"goal": "g"}, context, CONFIG) is None
    assert seen == [({"goal": "g"}, TASK_PLANNED, CONFIG)] and runner.tasks == []


def test_a_model_outage_is_not_an_unusable_answer() -> None:
    with pytest.raises(ModelUnavailable):
        run_step(role(step(Finished())), Runner(ModelUnavailable("down")), DATA, CONTEXT, None)


def test_a_role_lists_what_it_accepts_request_type_first() -> None:
    judge = role(step(Finished()), **{TASK_PLANNED: DirectStep(lambda d, c, k: None)})
    assert judge.accepts == (REVIEW_REQUESTED, TASK_PLANNED)
    with pytest.raises(TypeError):
        judge.handlers[REVIEW_COMPLETED] = judge.handlers[TASK_PLANNED]  # type: ignore[index]


def test_a_role_without_a_handler_for_its_request_type_is_refused() -> None:
    with pytest.raises(ValueError, match=r"no handler for dev\.binks\.review\.requested"):
        Role("x", "X", "x", REVIEW_REQUESTED, {TASK_PLANNED: DirectStep(print)}, ())


def test_failure_keeps_the_common_fields_and_bounds_the_reason() -> None:
    reply = failure(REVIEW_FAILED, {"repository": "r"}, "boom", "x" * 3000)
    assert reply.failed and reply.data["error"] == "boom" and len(reply.data["reason"]) == 2000

"""The sample team: one script per role, found by each function's service name."""

from __future__ import annotations

import json

import pytest

from events import VARIANTS
from modelserver.sample_answers import SAMPLE_REVIEW, SUMMARY, sample_team

ROLES = ("orchestrator", "code-reviewer", "cluster-operator", "reporter")


def test_every_role_of_the_demo_has_a_script() -> None:
    assert set(sample_team().scripts) == set(ROLES)


@pytest.mark.parametrize("variant", VARIANTS)
def test_each_service_gets_its_roles_answer(variant: str) -> None:
    team = sample_team()
    review = team.script_for(f"code-reviewer-{variant}")([], [])
    assert json.loads(review.content) == SAMPLE_REVIEW
    assert json.loads(team.script_for(f"reporter-{variant}")([], []).content) == SUMMARY


def test_the_operator_looks_before_it_answers() -> None:
    operator = sample_team().script_for("cluster-operator-agno")
    first = operator([], ["list_knative_services"])
    assert first.tool_calls == (("list_knative_services", {"namespace": "default"}),)
    done = operator([{"role": "tool", "content": "services"}], ["list_knative_services"])
    assert json.loads(done.content)["observations"][0]["status"] == "ok"

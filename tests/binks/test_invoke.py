"""``binks invoke``: the Service's own request by default, the HTTP status shown."""

from __future__ import annotations

import json

import pytest

from bench.functions import request_for
from binks import cli
from binks.client import invocation
from events import INVOKED_WITH
from localknative.launch import RunningPlatform

from .conftest import on


def test_a_service_is_invoked_with_its_roles_request_and_that_types_example() -> None:
    event_type, body = invocation("code-reviewer-agno", None, None)
    assert event_type == "dev.binks.review.requested"
    assert "repository" in json.loads(body)
    assert invocation("hello-world", None, None) == ("boson.fn", b'{"message":"Hello World"}')
    assert invocation("reporter-crewai", "x.y", '{"a": 1}') == ("x.y", b'{"a": 1}')


def test_the_bench_measures_each_role_with_the_event_it_is_invoked_with() -> None:
    for role, event_type in INVOKED_WITH.items():
        assert request_for(role, "agno")[0] == event_type, role


@pytest.mark.process
@pytest.mark.parametrize("platform", [{"summary": "fine", "findings": []}], indirect=True)
def test_invoke_as_a_cloudevent_gets_the_functions_reply(
    platform: RunningPlatform, capsys: pytest.CaptureFixture[str]
) -> None:
    options = on(platform)
    code = cli.main(["invoke", "code-reviewer-agno", "--format", "cloudevent", *options])
    captured = capsys.readouterr()
    print(captured.err)
    assert code == 0 and captured.err.startswith("HTTP 200")
    assert "dev.binks.review.completed" in captured.err
    assert json.loads(captured.out)["summary"] == "fine"


@pytest.mark.process
@pytest.mark.parametrize("platform", [{"summary": "fine", "findings": []}], indirect=True)
def test_ps_shows_each_service_as_a_table(
    platform: RunningPlatform, capsys: pytest.CaptureFixture[str]
) -> None:
    options = on(platform)
    assert cli.main(["invoke", "code-reviewer-agno", "--format", "cloudevent", *options]) == 0
    capsys.readouterr()
    assert cli.main(["ps", *options]) == 0
    out = capsys.readouterr().out
    print(out)
    head, *rows = out.splitlines()
    assert head.split() == [
        "NAME",
        "URL",
        "READY",
        "INSTANCES",
        "COLD",
        "STARTS",
        "MEMORY/LIMIT",
        "AGE",
    ]
    agno = next(r.split() for r in rows if r.startswith("code-reviewer-agno "))
    assert agno[1] == f"http://code-reviewer-agno.default.localhost:{platform.port}"
    assert agno[2:4] == ["True", "1"] and "(last of 1)" in " ".join(agno)
    assert agno[-2].endswith("Mi") and agno[-1].endswith("s")
    crewai = next(r.split() for r in rows if r.startswith("code-reviewer-crewai "))
    assert crewai[2:] == ["True", "0", "-", "-", "-"]


@pytest.mark.process
@pytest.mark.parametrize("platform", [{"summary": "fine", "findings": []}], indirect=True)
def test_logs_show_a_services_log_and_name_the_services_when_one_is_unknown(
    platform: RunningPlatform, capsys: pytest.CaptureFixture[str]
) -> None:
    options = on(platform)
    assert cli.main(["invoke", "code-reviewer-agno", "--format", "cloudevent", *options]) == 0
    capsys.readouterr()
    assert cli.main(["logs", "code-reviewer-agno", *options]) == 0
    out = capsys.readouterr().out
    assert '"msg": "ready"' in out and '"service": "code-reviewer-agno"' in out, out
    assert cli.main(["logs", "../credential", *options]) == 2
    err = capsys.readouterr().err
    assert "no Service '../credential'" in err and "code-reviewer-crewai" in err, err

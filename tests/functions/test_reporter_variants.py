"""Both reporter variants as real processes, against the scripted model: the plan is
recorded (202, no reply), the last result brings the report with the model's summary."""

from __future__ import annotations

import json
import urllib.request

import pytest

from events import REPORT_PUBLISHED, REVIEW_COMPLETED, TASK_PLANNED, VARIANTS, validate_data
from localknative.instances import FunctionProcess, FunctionSpec
from modelserver.scripted import ScriptedOllama, tools_script

from .reporter_data import PLAN, REVIEW

pytestmark = pytest.mark.process

SUMMARY = {"summary": "Scripted: the review found one bug."}


def post(url: str, event_type: str, data: dict, event_id: str) -> tuple[int, dict, bytes]:
    headers = {
        "ce-specversion": "1.0",
        "ce-id": event_id,
        "ce-source": "/tests",
        "ce-type": event_type,
        "ce-binkstask": "task-r",
        "content-type": "application/json",
    }
    request = urllib.request.Request(url, json.dumps(data).encode(), headers)
    with urllib.request.urlopen(request, timeout=120) as answer:
        return answer.status, {k.lower(): v for k, v in answer.headers.items()}, answer.read()


@pytest.mark.parametrize("variant", VARIANTS)
def test_variant_records_the_plan_then_publishes_the_report(variant: str) -> None:
    with ScriptedOllama(tools_script([], SUMMARY)) as model:
        env = {"OLLAMA_HOST": model.url}
        with FunctionProcess(FunctionSpec("reporter", variant), env=env) as instance:
            instance.wait_ready()
            recorded = post(instance.url, TASK_PLANNED, {**PLAN, "variant": variant}, "plan-1")
            status, headers, body = post(instance.url, REVIEW_COMPLETED, REVIEW, "review-1")
        asked = [r for r in model.requests if r["endpoint"] != "/api/show"]
    assert recorded[0] == 202 and recorded[2] == b"", recorded
    assert (status, headers["ce-type"], headers["ce-binksvariant"]) == (
        200,
        REPORT_PUBLISHED,
        variant,
    ), headers
    report = json.loads(body)
    validate_data(REPORT_PUBLISHED, report)
    assert report["summary"] == SUMMARY["summary"] and report["complete"] is True, report
    assert len(asked) == 1, asked  # one model call, for the summary, without tools

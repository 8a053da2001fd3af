"""Both variants review the sample repository against the real embedded model.

The model is a 270M base model, so the findings are not good; what must hold is
that the whole chain is real (framework → Ollama API → llama.cpp → tools) and
that the reply is a schema-valid event: ``dev.binks.review.completed``, or
``dev.binks.review.failed`` when the runtime refused the answer (one that copies its
prompt or says nothing), with that reason. Which one a given prompt gets from this
model is the model's business; ``bench/report_quality.py`` counts them over runs.
"""

from __future__ import annotations

import json

import pytest

from binks.demo import send_review
from events import REVIEW_COMPLETED, REVIEW_FAILED, VARIANTS, validate_data
from localknative.instances import FunctionProcess, FunctionSpec

pytestmark = [pytest.mark.process, pytest.mark.model]


@pytest.mark.parametrize("variant", VARIANTS)
def test_variant_completes_a_schema_valid_review(variant: str, embedded_model) -> None:
    env = {
        "OLLAMA_HOST": embedded_model.url,
        "BINKS_MODEL": "gemma3:270m",
        "BINKS_STRUCTURED_ANSWER": "true",
    }
    before = embedded_model.log_path.read_text().count('"msg": "turn"')
    with FunctionProcess(FunctionSpec("code_reviewer", variant), env=env) as instance:
        instance.wait_ready()
        task = f"embedded-{variant}"
        status, headers, data = send_review(instance.url, "sample-repo", task)
    lowered = {k.lower(): v for k, v in headers.items()}
    assert status == 200, data
    assert lowered["ce-type"] in (REVIEW_COMPLETED, REVIEW_FAILED), lowered
    assert lowered["ce-binksvariant"] == variant
    validate_data(lowered["ce-type"], data)
    if lowered["ce-type"] == REVIEW_FAILED:
        assert data["error"] == "invalid_model_answer", data
        assert data["reason"].startswith("the model's answer is not a valid review: "), data
    turns = [
        json.loads(line)
        for line in embedded_model.log_path.read_text().splitlines()
        if '"msg": "turn"' in line
    ][before:]
    assert len(turns) >= 2  # at least one tool round, then the answer
    assert any(turn["tool_calls"] for turn in turns)  # the model really drove the tools

"""Both variants review the sample repository against the real embedded model.

The model is a 270M base model, so the findings are not good; what must hold is
that the whole chain is real (framework → Ollama API → llama.cpp → tools) and
that the reply is a schema-valid ``dev.binks.review.completed`` event.
"""

from __future__ import annotations

import json

import pytest

from binks.demo import send_review
from events import REVIEW_COMPLETED, VARIANTS, validate_data
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
    assert lowered["ce-type"] == REVIEW_COMPLETED
    assert lowered["ce-binksvariant"] == variant
    validate_data(REVIEW_COMPLETED, data)
    turns = [
        json.loads(line)
        for line in embedded_model.log_path.read_text().splitlines()
        if '"msg": "turn"' in line
    ][before:]
    assert len(turns) >= 2  # at least one tool round, then the answer
    assert any(turn["tool_calls"] for turn in turns)  # the model really drove the tools

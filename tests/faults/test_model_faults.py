"""A model server that accepts and never answers: each variant gives up after
``BINKS_MODEL_TIMEOUT`` with one try per call, and answers 503 ``model_unavailable``
(retried by the broker, then dead-lettered) instead of hanging the chain."""

from __future__ import annotations

import pytest

from binks.demo import send_review
from events import VARIANTS
from localknative.instances import FunctionProcess, FunctionSpec

pytestmark = [pytest.mark.faults, pytest.mark.process]


@pytest.mark.parametrize("variant", VARIANTS)
def test_a_stuck_model_times_out_into_a_503(variant: str, hanging_model) -> None:
    env = {"OLLAMA_HOST": hanging_model.url, "BINKS_MODEL_TIMEOUT": "2"}
    with FunctionProcess(FunctionSpec("code_reviewer", variant), env=env) as instance:
        instance.wait_ready()
        status, _, data = send_review(instance.url, "sample-repo", "task-stuck")
    assert status == 503
    assert data["error"] == "model_unavailable" and "timed out" in data["reason"]
    assert len(hanging_model.connections) == 1  # one try: retrying is the broker's job

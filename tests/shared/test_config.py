"""Function settings from the environment: defaults, and refusals that name the variable."""

from __future__ import annotations

import pytest

from shared.runtime.config import DEFAULT_MODEL_TIMEOUT_S, Settings


def test_model_timeout_defaults_and_can_be_set() -> None:
    assert Settings.from_env({}, "s").model_timeout_s == DEFAULT_MODEL_TIMEOUT_S
    assert Settings.from_env({"BINKS_MODEL_TIMEOUT": "2.5"}, "s").model_timeout_s == 2.5


@pytest.mark.parametrize("value", ["soon", "0", "-1"])
def test_a_bad_model_timeout_is_refused_by_name(value: str) -> None:
    with pytest.raises(ValueError, match="BINKS_MODEL_TIMEOUT"):
        Settings.from_env({"BINKS_MODEL_TIMEOUT": value}, "s")

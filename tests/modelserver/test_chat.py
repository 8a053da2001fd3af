"""Request translation: options, tool rounds, the engine request."""

from __future__ import annotations

import pytest

from modelserver.chat import (
    DEFAULT_NUM_PREDICT,
    OLLAMA_DEFAULTS,
    ChatRequest,
    RequestError,
    engine_request,
    sampling_from_options,
    tool_rounds,
)
from modelserver.prompting import JSON_OBJECT, JSON_OBJECT_GRAMMAR

TOOL = {"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}


def test_options_map_to_llama_sampling() -> None:
    sampling = sampling_from_options({"temperature": 0, "seed": 7, "num_predict": 20, "num_ctx": 1})
    assert sampling == {**OLLAMA_DEFAULTS, "temperature": 0, "seed": 7, "max_tokens": 20}


def test_what_a_request_leaves_out_is_sampled_as_ollama_does() -> None:
    sampling = sampling_from_options({"frequency_penalty": 0.3, "repeat_penalty": 1.0})
    assert sampling["repeat_penalty"] == 1.0, sampling  # given: kept
    assert sampling["frequency_penalty"] == 0.3, sampling
    assert (sampling["repeat_last_n"], sampling["temperature"]) == (64, 0.8), sampling


@pytest.mark.parametrize("num_predict", [None, -1, 0])
def test_unbounded_generation_gets_the_default_cap(num_predict) -> None:
    assert sampling_from_options({"num_predict": num_predict})["max_tokens"] == DEFAULT_NUM_PREDICT


@pytest.mark.parametrize("options", [[1], "hot", {"num_predict": "many"}])
def test_bad_options_are_request_errors(options) -> None:
    with pytest.raises(RequestError):
        sampling_from_options(options)


def test_tool_rounds_count_results_since_the_last_user_turn() -> None:
    messages = [
        {"role": "user", "content": "a"},
        {"role": "tool", "content": "1"},
        {"role": "user", "content": "b"},
        {"role": "assistant", "content": ""},
        {"role": "tool", "content": "2"},
        {"role": "tool", "content": "3"},
    ]
    assert tool_rounds(messages) == 2


def test_structured_answer_without_tools_is_the_response_format() -> None:
    schema = {"type": "object", "properties": {"a": {"type": "string"}}}
    body = engine_request(ChatRequest([{"role": "user", "content": "x"}], answer_schema=schema))
    assert body["response_format"]["json_schema"]["schema"] == schema
    assert body["cache_prompt"] is True


def test_free_form_json_is_bounded_by_a_grammar() -> None:
    body = engine_request(
        ChatRequest([{"role": "user", "content": "x"}], answer_schema=JSON_OBJECT)
    )
    assert body["grammar"] == JSON_OBJECT_GRAMMAR and "response_format" not in body


def test_tools_allow_calls_until_the_round_limit() -> None:
    history = [{"role": "user", "content": "x"}]
    open_body = engine_request(ChatRequest(history, [TOOL], max_tool_rounds=1))
    assert len(open_body["response_format"]["json_schema"]["schema"]["anyOf"]) == 2
    history += [{"role": "assistant", "content": ""}, {"role": "tool", "content": "r"}]
    closed = engine_request(ChatRequest(history, [TOOL], max_tool_rounds=1))
    assert len(closed["response_format"]["json_schema"]["schema"]["anyOf"]) == 1
    # only the grammar changes: no instruction a small model could copy into its answer
    assert closed["messages"][-1] == {"role": "user", "content": "Result of tool:\nr"}, closed

"""W3C Trace Context: what is read, what is refused, how a span continues a trace."""

from __future__ import annotations

import pytest

from shared.telemetry.tracecontext import (
    TraceContext,
    child_of,
    clean_tracestate,
    new_trace,
    parse,
)

VALID = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


def test_a_valid_traceparent_is_read() -> None:
    found = parse(VALID, "congo=t61rcWkgMzE")
    print(found)
    assert found == TraceContext(
        "0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331", True, "congo=t61rcWkgMzE"
    )
    assert found.traceparent == VALID


@pytest.mark.parametrize(
    "value",
    [
        "",
        "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331",  # no flags
        "00-00000000000000000000000000000000-b7ad6b7169203331-01",  # zero trace id
        "00-0af7651916cd43dd8448eb211c80319c-0000000000000000-01",  # zero span id
        "ff-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",  # forbidden version
        "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-extra",  # 00 has no extra
        "00-0af7651916cd43dd8448eb211c80319z-b7ad6b7169203331-01",  # not hex
        "00-0af7651916cd43dd\n8448eb211c80319c-b7ad6b7169203331-01",
    ],
)
def test_an_invalid_traceparent_is_ignored(value: str) -> None:
    assert parse(value) is None, value


def test_a_future_version_is_read_as_00() -> None:
    found = parse("cc-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00-what-comes")
    assert found is not None and not found.sampled


def test_tracestate_is_passed_on_only_when_valid() -> None:
    assert clean_tracestate("a=1, b@vendor=2") == "a=1,b@vendor=2"
    assert clean_tracestate("no equals sign") == ""
    assert clean_tracestate("a=" + "x" * 600) == ""
    assert clean_tracestate(",".join(f"k{i}=v" for i in range(33))) == ""


def test_a_child_continues_the_trace_and_names_its_parent() -> None:
    parent = parse(VALID, "a=1")
    child = child_of(parent)
    print(parent, child)
    assert child.trace_id == parent.trace_id and child.span_id != parent.span_id
    assert child.parent_id == parent.span_id and child.tracestate == "a=1"
    assert child.attributes() == {"traceparent": child.traceparent, "tracestate": "a=1"}


def test_without_a_parent_a_new_trace_starts() -> None:
    first, second = child_of(None), new_trace()
    assert first.parent_id is None and first.trace_id != second.trace_id
    assert parse(first.traceparent).trace_id == first.trace_id

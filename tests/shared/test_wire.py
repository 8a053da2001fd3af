"""Strict CloudEvents 1.0 decoding: a corpus of valid and invalid events, both HTTP modes."""

from __future__ import annotations

import json

import pytest

from shared.errors import InvalidEvent, UnsupportedMediaType
from shared.wire import decode, encode_binary

DATA = {"repository": "bench/sample-repo"}
BINARY = {
    "ce-specversion": "1.0",
    "ce-id": "1",
    "ce-source": "/tests",
    "ce-type": "dev.binks.review.requested",
    "content-type": "application/json",
}
STRUCTURED = {
    "specversion": "1.0",
    "id": "1",
    "source": "/tests",
    "type": "dev.binks.review.requested",
    "datacontenttype": "application/json",
    "data": DATA,
}


def structured(**changes: object) -> tuple[dict[str, str], bytes]:
    event = {**STRUCTURED, **changes}
    event = {k: v for k, v in event.items() if v is not ...}
    return {"content-type": "application/cloudevents+json"}, json.dumps(event).encode()


def binary(**changes: str | None) -> tuple[dict[str, str], bytes]:
    headers = {**BINARY, **changes}
    return {k: v for k, v in headers.items() if v is not None}, json.dumps(DATA).encode()


VALID = {
    "binary": binary(),
    "binary with extensions and time": binary(
        **{"ce-time": "2026-11-25T12:00:00.123456789+01:00", "ce-binkstask": "t-1"}
    ),
    "binary header names in any case": ({k.upper(): v for k, v in BINARY.items()}, b"{}"),
    "structured": structured(),
    "structured with extension": structured(binksvariant="agno", time="2026-11-25T12:00:00Z"),
    "structured with data_base64": structured(data=..., data_base64="eyJhIjogMX0="),
    "content type with charset": structured(datacontenttype="application/json; charset=utf-8"),
}

INVALID = {
    "binary without id": (binary(**{"ce-id": None}), {"id"}),
    "binary with empty source": (binary(**{"ce-source": ""}), {"source"}),
    "binary without specversion": (binary(**{"ce-specversion": None}), {"specversion"}),
    "binary specversion 0.3": (binary(**{"ce-specversion": "0.3"}), {"specversion"}),
    "binary bad time": (binary(**{"ce-time": "yesterday"}), {"time"}),
    "binary impossible date": (binary(**{"ce-time": "2026-13-45T12:00:00Z"}), {"time"}),
    "binary extension with dash": (binary(**{"ce-my-ext": "x"}), {"my-ext"}),
    "binary extension too long": (binary(**{"ce-" + "x" * 21: "x"}), {"x" * 21}),
    "binary bad media type": (binary(**{"content-type": "json"}), {"datacontenttype"}),
    "binary body not JSON": ((BINARY, b"{not json"), {"data"}),
    "binary several problems": (binary(**{"ce-id": None, "ce-type": None}), {"id", "type"}),
    "structured without type": (structured(type=...), {"type"}),
    "structured id not a string": (structured(id=7), {"id"}),
    "structured data and data_base64": (structured(data_base64="e30="), {"data"}),
    "structured bad base64": (structured(data=..., data_base64="%%%"), {"data_base64"}),
    "structured extension upper case": (structured(BinksTask="x"), {"BinksTask"}),
    "structured extension is an object": (structured(binkstask={"a": 1}), {"binkstask"}),
    "structured empty subject": (structured(subject=""), {"subject"}),
    "structured relative dataschema": (structured(dataschema="schema.json"), {"dataschema"}),
}


@pytest.mark.parametrize("request_", VALID.values(), ids=VALID.keys())
def test_valid_events_decode(request_: tuple[dict[str, str], bytes]) -> None:
    incoming = decode(*request_)
    assert incoming.mode in ("binary", "structured")
    assert incoming.type == "dev.binks.review.requested"
    assert incoming.attributes["id"] == "1"


def test_binary_data_and_extensions_are_decoded() -> None:
    incoming = decode(*binary(**{"ce-binkstask": "task%2D1"}))
    assert incoming.mode == "binary"
    assert incoming.data == DATA
    assert incoming.extension("binkstask") == "task-1"


def test_lenient_sdk_defaults_are_not_invented() -> None:
    """The SDK would fill in a missing time; a strict decoder keeps it absent."""
    assert "time" not in decode(*binary()).attributes


@pytest.mark.parametrize(("request_", "attributes"), INVALID.values(), ids=INVALID.keys())
def test_invalid_events_name_every_bad_attribute(request_, attributes) -> None:
    with pytest.raises(InvalidEvent) as caught:
        decode(*request_)
    assert set(caught.value.details) == attributes
    assert caught.value.status == 400


@pytest.mark.parametrize(
    "request_",
    [
        ({"content-type": "application/cloudevents+json"}, b"[1, 2]"),
        ({"content-type": "application/cloudevents+json"}, b"{broken"),
        ({"content-type": "application/cloudevents-batch+json"}, b"[]"),
        ({"content-type": "application/json"}, b""),
        ({"content-type": "application/json"}, b"\xff\xfe"),
    ],
    ids=["structured array", "structured broken", "batch", "plain empty", "plain not utf-8"],
)
def test_undecodable_bodies_are_bad_requests(request_) -> None:
    with pytest.raises(InvalidEvent):
        decode(*request_)


def test_plain_json_is_the_http_trigger() -> None:
    incoming = decode({"Content-Type": "application/json"}, json.dumps(DATA).encode())
    assert (incoming.mode, incoming.data, incoming.type) == ("plain", DATA, None)


@pytest.mark.parametrize("content_type", ["text/plain", "application/xml", None])
def test_other_content_types_are_unsupported(content_type: str | None) -> None:
    headers = {"content-type": content_type} if content_type else {}
    with pytest.raises(UnsupportedMediaType) as caught:
        decode(headers, b"hello")
    assert caught.value.status == 415


def test_encoded_reply_decodes_to_the_same_event() -> None:
    attributes = {**{k: v for k, v in STRUCTURED.items() if k != "data"}, "binksvariant": "crewai"}
    headers, body = encode_binary(attributes, DATA)
    assert headers["content-type"] == "application/json"
    incoming = decode(headers, body)
    assert incoming.mode == "binary"
    assert incoming.data == DATA
    assert incoming.extension("binksvariant") == "crewai"

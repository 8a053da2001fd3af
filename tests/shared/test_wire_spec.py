"""The strict decoder against CloudEvents 1.0.2, rule by rule, in both HTTP modes.

Each case cites the rule it checks: core = cloudevents/spec.md, json = formats/json-format.md,
http = bindings/http-protocol-binding.md (section numbers of v1.0.2).
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from shared.errors import InvalidEvent
from shared.wire import MAX_JSON_DEPTH, decode

CORE = {"specversion": "1.0", "id": "1", "source": "/tests", "type": "dev.binks.review.requested"}
DATA = {"repository": "bench/sample-repo"}
JSON_BODY = json.dumps(DATA).encode()
CE_JSON = {"content-type": "application/cloudevents+json"}
Request = tuple[dict[str, str], bytes]

#: the wording of Python's and the SDK's own exceptions: none may reach a reason
FOREIGN_TEXT = ("Expecting", "(char ", "codec", "Traceback", "Attribute '", "Error", "Invalid")


def binary(body: bytes = JSON_BODY, **headers: str | None) -> Request:
    """Binary mode: the core attributes as ce- headers; ``x_y=`` is header ``x-y``."""
    merged: dict[str, str | None] = {f"ce-{k}": v for k, v in CORE.items()}
    merged["content-type"] = "application/json"
    merged |= {k.replace("_", "-"): v for k, v in headers.items()}
    return {k: v for k, v in merged.items() if v is not None}, body


def structured(**members: Any) -> Request:
    """Structured mode; a member set to ``...`` is left out."""
    event = {**CORE, "datacontenttype": "application/json", "data": DATA, **members}
    return CE_JSON, json.dumps({k: v for k, v in event.items() if v is not ...}).encode()


def raw(text: str) -> Request:
    """A structured envelope written by hand (duplicates, NaN, escapes json.dumps won't make)."""
    return CE_JSON, text.encode()


def member(name: str, json_text: str) -> Request:
    """The core attributes plus one member written as raw JSON text (escapes, NaN, 1e2)."""
    return raw(json.dumps(CORE)[:-1] + f', "{name}": {json_text}}}')


def nested(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


EURO = "Euro%20%E2%82%AC%20%F0%9F%98%80"  # http 3.1.3.2's own example

VALID: dict[str, tuple[Request, dict[str, Any]]] = {
    # http 3.1: data is OPTIONAL, so a binary event may have no body and no Content-Type
    "binary without body or content type": (binary(b"", content_type=None), {"data": None}),
    "binary JSON type, empty body": (binary(b""), {"data": None}),
    # http 3.1.3.2: one round of percent-decoding, UTF-8
    "binary percent-encoded UTF-8": (binary(ce_subject=EURO), {"subject": "Euro € 😀"}),
    "binary lower-case hex": (binary(ce_subject="%e2%82%ac"), {"subject": "€"}),
    "binary needlessly encoded": (binary(ce_id="%41%42"), {"id": "AB"}),
    "binary one round only": (binary(ce_id="%2541"), {"id": "%41"}),
    # http 3.1.3.2: double-quoted values (RFC 7230 3.2.6) MUST be supported when receiving
    "binary quoted string": (binary(ce_subject='"a \\"b\\" c"'), {"subject": 'a "b" c'}),
    # http 3.1.3.1: header names are case-insensitive
    "binary header names upper case": (binary(**{"CE-ID": "7", "ce_id": None}), {"id": "7"}),
    # core time: RFC 3339 (5.6: t/z may be lower case, -00:00 allowed; 5.7: leap second)
    "binary time lower case": (binary(ce_time="2026-11-25t12:00:00.5z"), {}),
    "binary time -00:00": (binary(ce_time="2026-11-25T12:00:00-00:00"), {}),
    "binary time +23:59, 29 February": (binary(ce_time="2024-02-29T12:00:00+23:59"), {}),
    "binary time leap second": (binary(ce_time="2016-12-31T23:59:60Z"), {}),
    "binary leap second, offset": (binary(ce_time="2017-01-01T00:59:60+01:00"), {}),
    "binary time kept as sent": (
        binary(ce_time="2026-11-25T12:00:00.123456789+01:00"),
        {"time": "2026-11-25T12:00:00.123456789+01:00"},
    ),
    # core source: a URI-reference; the spec's own examples
    "source https": (binary(ce_source="https://github.com/cloudevents"), {}),
    "source mailto": (binary(ce_source="mailto:cncf-wg-serverless@lists.cncf.io"), {}),
    "source urn": (binary(ce_source="urn:uuid:6e8bc430-9c3a-11d9-9669-0800200c9a66"), {}),
    "source phone number": (binary(ce_source="1-555-123-4567"), {}),
    "source IPv6 host": (structured(source="http://[::1]:8080/a?b=c#d"), {}),
    "source percent-encoded": (structured(source="/a%20b"), {"source": "/a%20b"}),
    # core dataschema: a URI (the spec's JSON schema uses format "uri": fragments allowed)
    "dataschema with fragment": (binary(ce_dataschema="https://x.org/s.json#/defs/a"), {}),
    # core naming: 20 characters is the longest RECOMMENDED name
    "extension name of 20": (binary(**{"ce-" + "a" * 20: "x"}), {"a" * 20: "x"}),
    # core String: an extension may be an empty string
    "extension empty string": (binary(ce_ext=""), {"ext": ""}),
    # json 3.1.1: a datacontenttype of */json or */*+json declares JSON
    "binary */json": (binary(content_type="text/json"), {"data": DATA}),
    "binary +json": (binary(content_type="application/vnd.x+json; v=1"), {"data": DATA}),
    "binary upper-case JSON type": (binary(content_type="Application/JSON"), {"data": DATA}),
    # http 3.1.2: other data is opaque: text as str, octets as bytes
    "binary text data": (binary(b"hello", content_type="text/plain"), {"data": "hello"}),
    "binary octets": (
        binary(b"\xff\x00", content_type="application/octet-stream"),
        {"data": b"\xff\x00"},
    ),
    "binary quoted parameter": (binary(content_type='text/plain; charset="utf-8"'), {}),
    # json 2.2: null means unset, for optional attributes and extensions alike
    "structured null subject": (structured(subject=None), {"subject": ...}),
    "structured null time": (structured(time=None), {"time": ...}),
    "structured null dataschema": (structured(dataschema=None), {"dataschema": ...}),
    "structured null extension": (structured(ext=None), {"ext": ...}),
    "structured null datacontenttype": (structured(datacontenttype=None), {"data": DATA}),
    # json 3.1.1: data may be an explicit null, or be absent
    "structured data null": (structured(data=None), {"data": None}),
    "structured without data": (structured(data=...), {"data": None}),
    # json 3.1.2: no datacontenttype means application/json
    "structured implied JSON": (structured(datacontenttype=...), {"data": DATA}),
    # json 3.1.2: a JSON string stays a string, never decoded again
    "structured JSON string data": (structured(data='{"a": 1}'), {"data": '{"a": 1}'}),
    # json 3.2: non-JSON data as a JSON string (the spec's XML example)
    "structured XML data": (
        structured(datacontenttype="application/xml", data='<much wow="xml"/>'),
        {"data": '<much wow="xml"/>'},
    ),
    "structured empty data_base64": (structured(data=..., data_base64=""), {"data": b""}),
    # json 2.2: Integer at both ends of the range, Boolean as JSON booleans
    "extension Integer min": (structured(ext=-(2**31)), {"ext": -(2**31)}),
    "extension Integer max": (structured(ext=2**31 - 1), {"ext": 2**31 - 1}),
    "extension Boolean": (structured(ext=True, other=False), {"ext": True, "other": False}),
    # core String: a surrogate pair is one character, so it is allowed
    "structured surrogate pair": (member("subject", '"\\ud83d\\ude00"'), {"subject": "\U0001f600"}),
    "structured non-ASCII id": (structured(id="ünïcødé"), {"id": "ünïcødé"}),
    # http 3.2.1: the media type may carry parameters
    "structured with charset": (
        ({"content-type": "application/cloudevents+json; charset=UTF-8"}, structured()[1]),
        {},
    ),
    # http 3: Content-Type picks the mode; 3.2.3: binary-mode headers may ride along
    "structured with ce- headers": (
        ({**CE_JSON, "ce-id": "other"}, structured()[1]),
        {"id": "1", "mode": "structured"},
    ),
    # our limit: exactly MAX_JSON_DEPTH levels is fine, brackets in strings do not count
    "binary data at the depth limit": (binary(nested(MAX_JSON_DEPTH)), {}),
    "brackets inside strings": (structured(data="[{" * 10_000), {}),
    "escaped quotes inside strings": (structured(data='"[{' * 1000), {}),
    "escaped backslash, quote": (structured(data='\\"[' * 1000), {}),
    # json 2.2 applied to data_base64 as well: null is absent
    "structured data_base64 null": (structured(data_base64=None), {"data": DATA}),
}

INVALID: dict[str, tuple[Request, set[str] | None]] = {
    # core String: control characters U+0000-U+001F and U+007F-U+009F are disallowed
    "binary NUL in id": (binary(ce_id="a%00b"), {"id"}),
    "binary newline in subject": (binary(ce_subject="a%0Ab"), {"subject"}),
    "binary DEL in type": (binary(ce_type="a%7F"), {"type"}),
    "binary C1 control in extension": (binary(ce_ext="%C2%80"), {"ext"}),
    "binary raw tab in id": (binary(ce_id="a\tb"), {"id"}),
    "structured NUL in id": (structured(id="a\x00b"), {"id"}),
    "structured NUL in extension": (structured(ext="\x00"), {"ext"}),
    "structured U+009F in subject": (structured(subject="a\x9f"), {"subject"}),
    "structured newline in type": (structured(type="a\nb"), {"type"}),
    # core String: noncharacters and lone surrogates are disallowed
    "binary U+FDD0": (binary(ce_subject="%EF%B7%90"), {"subject"}),
    "binary U+FFFE": (binary(ce_subject="%EF%BF%BE"), {"subject"}),
    "binary U+10FFFF": (binary(ce_subject="%F4%8F%BF%BF"), {"subject"}),
    "structured U+FFFF": (structured(subject="\uffff"), {"subject"}),
    "structured U+1FFFE": (structured(ext="\U0001fffe"), {"ext"}),
    "structured lone surrogate": (member("subject", '"\\udead"'), {"subject"}),
    "structured reversed pair": (member("id", '"\\udead\\ud800"'), {"id"}),
    # http 3.1.3.2: percent-decoding that yields invalid UTF-8 MUST be rejected
    "binary overlong %C0%A0": (binary(ce_subject="%C0%A0"), {"subject"}),
    "binary encoded surrogate": (binary(ce_subject="%ED%A0%80"), {"subject"}),
    "binary stray byte %FF": (binary(ce_id="%FF"), {"id"}),
    "binary truncated sequence": (binary(ce_id="%E2%82"), {"id"}),
    "binary malformed escape": (binary(ce_id="%G1"), {"id"}),
    "binary lone percent": (binary(ce_subject="100%"), {"subject"}),
    # http 3.1.3.2: header values are printable US-ASCII; the rest is percent-encoded
    "binary raw non-ASCII": (binary(ce_subject="caf\u00e9"), {"subject"}),
    "binary unterminated quote": (binary(ce_subject='"abc'), {"subject"}),
    # http 3.1.1: a ce-datacontenttype header MUST NOT be present
    "binary ce-datacontenttype": (
        binary(ce_datacontenttype="application/json"),
        {"datacontenttype"},
    ),
    # core naming: no attribute may be named data
    "binary attribute named data": (binary(ce_data="x"), {"data"}),
    # core context attributes: each appears at most once (header names ignore case)
    "binary id twice": (binary(**{"CE-ID": "2"}), {"id"}),
    "binary empty attribute name": (binary(**{"ce-": "x"}), {""}),
    "structured id twice": (
        raw('{"specversion":"1.0","id":"1","id":"2","source":"/","type":"t"}'),
        {"id"},
    ),
    # core specversion: only 1.0
    "binary specversion 1.0.2": (binary(ce_specversion="1.0.2"), {"specversion"}),
    "structured specversion number": (
        raw(json.dumps({**CORE, "specversion": 1.0})),
        {"specversion"},
    ),
    # core REQUIRED; json 2.2: null is unset, so a null required attribute is missing
    "structured null id": (structured(id=None), {"id"}),
    "structured null source": (structured(source=None), {"source"}),
    "structured boolean id": (structured(id=True), {"id"}),
    # core source: a non-empty URI-reference (RFC 3986 4.1)
    "source with a space": (binary(ce_source="/a%20b"), {"source"}),
    "source bad escape": (structured(source="/a%zz"), {"source"}),
    "source colon, no scheme": (structured(source="1:2"), {"source"}),
    "source unclosed bracket": (structured(source="http://[::1/x"), {"source"}),
    "source bad IPv6": (structured(source="http://[zz::1]/"), {"source"}),
    "source two fragments": (structured(source="/a#b#c"), {"source"}),
    "source non-ASCII": (structured(source="/caf\u00e9"), {"source"}),
    "source braces": (structured(source="/{x}"), {"source"}),
    "source trailing newline": (structured(source="/a\n"), {"source"}),
    # core dataschema: a non-empty absolute URI
    "dataschema relative": (binary(ce_dataschema="/schema.json"), {"dataschema"}),
    "dataschema empty": (structured(dataschema=""), {"dataschema"}),
    "dataschema with space": (structured(dataschema="urn:a b"), {"dataschema"}),
    "dataschema trailing newline": (structured(dataschema="http://x.org/s\n"), {"dataschema"}),
    # core time: RFC 3339 date-time
    "time without offset": (binary(ce_time="2026-11-25T12:00:00"), {"time"}),
    "time with a space": (binary(ce_time="2026-11-25%2012:00:00Z"), {"time"}),
    "time 29 February 2026": (binary(ce_time="2026-02-29T00:00:00Z"), {"time"}),
    "time hour 24": (binary(ce_time="2026-11-25T24:00:00Z"), {"time"}),
    "time offset +24:00": (binary(ce_time="2026-11-25T12:00:00+24:00"), {"time"}),
    "time offset +00:60": (binary(ce_time="2026-11-25T12:00:00+00:60"), {"time"}),
    "time empty fraction": (binary(ce_time="2026-11-25T12:00:00.Z"), {"time"}),
    "time leap second at noon": (binary(ce_time="2026-11-25T12:00:60Z"), {"time"}),
    "time Arabic-Indic digits": (structured(time="٢٠٢٦-11-25T12:00:00Z"), {"time"}),
    "time trailing newline": (structured(time="2026-11-25T12:00:00Z\n"), {"time"}),
    "time a number": (structured(time=1764072000), {"time"}),
    # core datacontenttype: an RFC 2046 media type
    "datacontenttype trailing newline": (
        structured(datacontenttype="text/plain\n"),
        {"datacontenttype"},
    ),
    "datacontenttype control char": (
        binary(content_type="text/plain;\x1fcharset=utf-8"),
        {"datacontenttype"},
    ),
    "datacontenttype parameter without value": (
        binary(content_type="text/plain; a"),
        {"datacontenttype"},
    ),
    "datacontenttype empty": (binary(content_type=""), {"datacontenttype"}),
    # core subject: non-empty when present
    "binary empty subject": (binary(ce_subject=""), {"subject"}),
    # core naming: lower-case ASCII letters and digits (20 at most: our policy, a SHOULD)
    "extension trailing newline": (structured(**{"ext\n": "x"}), {"ext\n"}),
    "extension empty name": (structured(**{"": "x"}), {""}),
    "extension non-ASCII digit": (structured(**{"ext٢": "x"}), {"ext٢"}),
    # core Integer: -2,147,483,648 to +2,147,483,647; json 2.2: integer component only
    "extension 2**31": (structured(ext=2**31), {"ext"}),
    "extension -2**31-1": (structured(ext=-(2**31) - 1), {"ext"}),
    "extension 1.0": (structured(ext=1.0), {"ext"}),
    "extension 1e2": (member("ext", "1e2"), {"ext"}),
    # core type system: objects and arrays are no attribute type
    "extension array": (structured(ext=[1]), {"ext"}),
    "extension object": (structured(ext={}), {"ext"}),
    # json 3.1.1: data and data_base64 are exclusive; data_base64 is RFC 4648 base64
    "data_base64 not padded": (structured(data=..., data_base64="e30"), {"data_base64"}),
    "data_base64 url alphabet": (structured(data=..., data_base64="-_8="), {"data_base64"}),
    "data_base64 with a space": (structured(data=..., data_base64="e3 0="), {"data_base64"}),
    "data_base64 a number": (structured(data=..., data_base64=1), {"data_base64"}),
    "data null and data_base64": (structured(data=None, data_base64="e30="), {"data"}),
    # http 3.1.2 + RFC 8259: data declared JSON must be JSON (UTF-8, no NaN)
    "binary JSON body whitespace only": (binary(b"  "), {"data"}),
    "binary JSON body NaN": (binary(b"NaN"), {"data"}),
    "binary JSON body UTF-16": (binary('{"a": 1}'.encode("utf-16")), {"data"}),
    "binary JSON body bad UTF-8": (binary(b'"\xff"'), {"data"}),
    "structured data Infinity": (member("data", "Infinity"), None),
    "structured envelope bad UTF-8": ((CE_JSON, b'{"id": "\xff"}'), None),
    "structured trailing garbage": ((CE_JSON, structured()[1] + b" x"), None),
    # our limit: nesting deeper than MAX_JSON_DEPTH is refused, never a RecursionError
    "binary data one too deep": (binary(nested(MAX_JSON_DEPTH + 1)), {"data"}),
    "structured one too deep": (member("data", nested(MAX_JSON_DEPTH).decode()), None),
    "too deep after an escaped backslash": (
        raw(json.dumps({**CORE, "subject": "a\\"})[:-1] + ', "x": ' + nested(64).decode() + "}"),
        None,
    ),
    "binary data 100 000 deep": (binary(nested(100_000)), {"data"}),
    "structured 100 000 deep": ((CE_JSON, nested(100_000)), None),
    "structured data 100 000 deep": (
        (CE_JSON, json.dumps(CORE)[:-1].encode() + b', "data": ' + nested(100_000) + b"}"),
        None,
    ),
    "plain 100 000 deep": (({"content-type": "application/json"}, nested(100_000)), None),
    "plain unclosed 100 000 deep": (({"content-type": "application/json"}, b"{" * 100_000), None),
    "plain NaN": (({"content-type": "application/json"}, b'{"a": NaN}'), None),
    # http 3: Content-Type picks the mode, so ce- headers don't make a batch binary
    "batch with ce- headers": (
        ({**binary()[0], "content-type": "application/cloudevents-batch+json"}, b"[]"),
        None,
    ),
}


def _shown(value: Any) -> str:
    return repr(value)[:200]


@pytest.mark.parametrize(("request_", "expected"), VALID.values(), ids=VALID.keys())
def test_valid_event_is_accepted(request_: Request, expected: dict[str, Any]) -> None:
    headers, body = request_
    try:
        incoming = decode(headers, body)
    except InvalidEvent as error:
        pytest.fail(f"refused a valid event: {error.reason} {error.details} <- {_shown(headers)}")
    seen = {**incoming.attributes, "data": incoming.data, "mode": incoming.mode}
    for name, value in expected.items():
        shown = f"{name}: got {_shown(seen.get(name, ...))}, expected {_shown(value)}"
        assert seen.get(name, ...) == value, shown
    assert incoming.mode in ("binary", "structured")


@pytest.mark.parametrize(("request_", "attributes"), INVALID.values(), ids=INVALID.keys())
def test_invalid_event_is_refused(request_: Request, attributes: set[str] | None) -> None:
    headers, body = request_
    with pytest.raises(InvalidEvent) as caught:
        incoming = decode(headers, body)
        pytest.fail(f"accepted: {_shown(incoming)} <- {_shown(headers)} {_shown(body)}")
    error = caught.value
    assert error.status == 400
    answer = json.dumps(error.body())  # the JSON a client gets
    if attributes is not None:
        assert set(error.details) == attributes, f"named {set(error.details)}: {answer[:300]}"
    foreign = [text for text in FOREIGN_TEXT if text in answer]
    assert not foreign, f"Python's wording {foreign} in {answer[:300]}"

"""Strict CloudEvents 1.0 decoding over HTTP.

Both doors use this decoder: the broker ingress and every function. It follows
CloudEvents 1.0.2 (core spec, HTTP binding, JSON format) to the letter, gathers
every problem and raises them at once as :class:`InvalidEvent` (400), with
messages of our own: never a Python or SDK exception's text. Decoding does not
go through the SDK, which parses leniently (it invents ``id`` and ``time`` and
passes control characters). Everything here is pure: headers and bytes in,
values out; it knows no web framework.
"""

from __future__ import annotations

import base64
import ipaddress
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import unquote_to_bytes

from shared.errors import InvalidEvent, UnsupportedMediaType
from shared.wire.json_text import NotJson, load_json

Mode = Literal["binary", "structured", "plain"]

STRUCTURED_TYPE = "application/cloudevents+json"
BATCH_TYPE = "application/cloudevents-batch+json"
REQUIRED = ("id", "source", "specversion", "type")
OPTIONAL = ("datacontenttype", "dataschema", "subject", "time")

#: Core type system: an Integer is a signed 32-bit number.
INTEGER_RANGE = range(-(2**31), 2**31)

# core String: control characters, noncharacters and lone surrogates are disallowed
_NONCHARACTERS = "".join(
    chr(plane | low) for plane in range(0, 0x110000, 0x10000) for low in (0xFFFE, 0xFFFF)
)
_BAD_CHARACTER = re.compile(f"[\x00-\x1f\x7f-\x9f\ud800-\udfff\ufdd0-\ufdef{_NONCHARACTERS}]")
# RFC 6838 type names, RFC 7230 tokens and quoted strings (media type parameters)
_NAME = r"[A-Za-z0-9!#$&^_.+-]+"
_TOKEN = r"[A-Za-z0-9!#$%&'*+.^_`|~-]+"
_QUOTED = r'"(?:[\t !#-\[\]-~]|\\[\t -~])*"'
_MEDIA_TYPE = re.compile(rf"{_NAME}/{_NAME}(?:[ \t]*;[ \t]*{_TOKEN}=(?:{_TOKEN}|{_QUOTED}))*")
_QUOTED_STRING = re.compile(_QUOTED)
_HEADER_VALUE = re.compile(r"[\t -~]*")  # RFC 7230 field content: printable US-ASCII
_PERCENT = re.compile(r"%[0-9A-Fa-f]{2}")
_RFC3339 = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})[Tt]([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.[0-9]+)?"
    r"(?:[Zz]|([+-])([0-9]{2}):([0-9]{2}))"
)
_EXTENSION_NAME = re.compile(r"[a-z0-9]{1,20}")  # 20: the spec's SHOULD, enforced here
# RFC 3986 URI-reference; the rules a regular expression can't say are in _is_uri
_PCT = r"%[0-9A-Fa-f]{2}"
_SUB = r"A-Za-z0-9\-._~!$&'()*+,;="  # unreserved and sub-delims
_PCHAR = rf"(?:[{_SUB}:@]|{_PCT})"
_URI = re.compile(
    rf"(?:(?P<scheme>[A-Za-z][A-Za-z0-9+.\-]*):)?"
    rf"(?://(?:(?:[{_SUB}:]|{_PCT})*@)?(?P<host>\[[^\]/]*\]|(?:[{_SUB}]|{_PCT})*)(?::[0-9]*)?)?"
    rf"(?P<path>(?:{_PCHAR}|/)*)(?:\?(?:{_PCHAR}|[/?])*)?(?:#(?:{_PCHAR}|[/?])*)?"
)
_IP_FUTURE = re.compile(rf"[vV][0-9A-Fa-f]+\.[{_SUB}:]+")


@dataclass(frozen=True)
class Incoming:
    """One decoded request: a CloudEvent (binary/structured) or plain JSON data."""

    mode: Mode
    data: Any
    attributes: Mapping[str, Any] = field(default_factory=dict)

    @property
    def type(self) -> str | None:
        return self.attributes.get("type")

    def extension(self, name: str) -> Any:
        return self.attributes.get(name)


def media_type(content_type: str | None) -> str:
    """``"Application/JSON; charset=utf-8"`` → ``"application/json"``."""
    return (content_type or "").split(";", 1)[0].strip().lower()


def is_json_media_type(value: str) -> bool:
    """Whether a :func:`media_type` declares JSON: ``*/json`` or ``*/*+json`` (JSON format 3.1)."""
    kind, slash, subtype = value.partition("/")
    return bool(kind and slash) and (subtype == "json" or subtype.endswith("+json"))


def decode(headers: Mapping[str, str], body: bytes) -> Incoming:
    """Decode an HTTP request into an :class:`Incoming`, strictly.

    The Content-Type picks the mode (HTTP binding 3): structured for
    ``application/cloudevents+json``, batches refused, else binary mode when any
    ``ce-`` header is present, else plain JSON. Raises :class:`InvalidEvent`
    (400) listing every problem, or :class:`UnsupportedMediaType` (415).
    """
    content_type = None
    for name, value in headers.items():
        if name.lower() == "content-type":
            content_type = value
    kind = media_type(content_type)
    if kind == BATCH_TYPE:
        raise InvalidEvent("batched CloudEvents are not supported: send one event per request")
    if kind == STRUCTURED_TYPE:
        return _decode_structured(body)
    if any(name.lower().startswith("ce-") for name, _ in headers.items()):
        return _decode_binary(headers, content_type, body)
    if is_json_media_type(kind):
        if not body.strip():
            raise InvalidEvent("the body is empty: expected JSON")
        return Incoming("plain", load_json(body, "the body")[0])
    raise UnsupportedMediaType(
        f"content type {kind or '(none)'!r} is not accepted: send a CloudEvent "
        "(binary mode with ce-* headers, or application/cloudevents+json) or application/json"
    )


# --- the two modes -----------------------------------------------------------------------


def _decode_binary(headers: Mapping[str, str], content_type: str | None, body: bytes) -> Incoming:
    attributes: dict[str, Any] = {}
    problems: dict[str, str] = {}
    for key, raw in headers.items():
        if not key.lower().startswith("ce-"):
            continue
        name = key.lower()[3:]
        if name in attributes or name in problems:  # header names ignore case (HTTP 3.1.3.1)
            problems[name] = "appears more than once: each attribute appears at most once"
            attributes.pop(name, None)
            continue
        value, problem = _header_value(raw)
        if problem is None:
            attributes[name] = value
        else:
            problems[name] = problem
    if "datacontenttype" in attributes or "datacontenttype" in problems:
        attributes.pop("datacontenttype", None)
        problems["datacontenttype"] = (
            "binary mode carries it as Content-Type: a ce-datacontenttype header must not be sent"
        )
    elif content_type is not None:
        attributes["datacontenttype"] = content_type.strip(" \t")
    problems = {**_check_attributes(attributes), **problems}
    data, problem = _binary_data(content_type, body)
    if problem is not None:
        problems["data"] = problem
    _raise_if(problems)
    return Incoming("binary", data, attributes)


def _decode_structured(body: bytes) -> Incoming:
    if not body.strip():
        raise InvalidEvent("the structured event is empty: expected a JSON object")
    envelope, repeated = load_json(body, "the structured event", track_repeats=True)
    if not isinstance(envelope, dict):
        raise InvalidEvent("a structured CloudEvent must be a JSON object")
    # JSON format 2.2: null is the same as absent
    attributes = {
        name: value
        for name, value in envelope.items()
        if name not in ("data", "data_base64") and value is not None
    }
    problems = _check_attributes(attributes)
    problems.update(dict.fromkeys(repeated, "appears more than once in the JSON object"))
    data, data_problems = _structured_data(envelope)
    problems.update(data_problems)
    _raise_if(problems)
    if "data" in envelope and "datacontenttype" not in attributes:
        # JSON format 3.1.2: implied, and to be set explicitly when re-encoded elsewhere
        attributes["datacontenttype"] = "application/json"
    return Incoming("structured", data, attributes)


def _header_value(raw: str) -> tuple[str, str | None]:
    """HTTP binding 3.1.3.2: unquote a quoted-string, then one round of UTF-8 percent-decoding."""
    value = raw.strip(" \t")
    if not _HEADER_VALUE.fullmatch(value):
        return "", "header values are printable US-ASCII: percent-encode other characters"
    if value.startswith('"'):
        if not _QUOTED_STRING.fullmatch(value):
            return "", "an opening double quote needs a closing one (RFC 7230 quoted-string)"
        value = re.sub(r"\\(.)", r"\1", value[1:-1])
    if "%" in _PERCENT.sub("", value):
        return "", "a '%' must begin a %XX escape (percent-encode '%' itself as %25)"
    try:
        return unquote_to_bytes(value).decode("utf-8"), None
    except UnicodeDecodeError:
        return "", "the percent-encoded bytes are not valid UTF-8"


def _binary_data(content_type: str | None, body: bytes) -> tuple[Any, str | None]:
    if not body:
        return None, None  # data is optional: no body, no data
    # JSON when declared so; with no Content-Type at all, JSON when it parses (as the SDKs do)
    if content_type is None or is_json_media_type(media_type(content_type)):
        try:
            return load_json(body, "the body")[0], None
        except NotJson as problem:
            if content_type is not None:
                return None, f"Content-Type declares JSON, but {problem.reason}"
    return _opaque(body), None


def _structured_data(envelope: Mapping[str, Any]) -> tuple[Any, dict[str, str]]:
    encoded = envelope.get("data_base64")
    if encoded is None:
        return envelope.get("data"), {}
    if "data" in envelope:
        return None, {"data": "data and data_base64 are mutually exclusive"}
    if isinstance(encoded, str):
        try:
            return base64.b64decode(encoded, validate=True), {}
        except ValueError:
            pass
    return None, {"data_base64": "must be a string of base64 (RFC 4648: standard alphabet, padded)"}


def _opaque(body: bytes) -> str | bytes:
    """Data that is not JSON: text when it is UTF-8, else the bytes as they came."""
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        return body


# --- attributes --------------------------------------------------------------------------


def _check_attributes(attributes: Mapping[str, Any]) -> dict[str, str]:
    """Every problem with the context attributes, as attribute → message."""
    problems = {
        name: "required attribute is missing" for name in REQUIRED if name not in attributes
    }
    for name, value in attributes.items():
        if name in _CORE_CHECKS:
            problem = _core_problem(name, value)
        else:
            problem = _extension_problem(name, value)
        if problem is not None:
            problems[name] = problem
    return problems


def _core_problem(name: str, value: Any) -> str | None:
    if not isinstance(value, str):
        return f"must be a string, not {_json_type(value)}"
    if not value:
        return "must not be empty"
    rule, message = _CORE_CHECKS[name]
    return _bad_character(value) or (None if rule(value) else message)


def _extension_problem(name: str, value: Any) -> str | None:
    if name == "data":
        return "no attribute may be named 'data': the name is reserved"
    if not _EXTENSION_NAME.fullmatch(name):
        return "attribute names are 1-20 lowercase ASCII letters or digits"
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        if value in INTEGER_RANGE:
            return None
        return "an Integer must be within -2147483648..2147483647"
    if isinstance(value, str):
        return _bad_character(value)
    return f"extension values are strings, integers or booleans, not {_json_type(value)}"


def _bad_character(value: str) -> str | None:
    found = _BAD_CHARACTER.search(value)
    if found is None:
        return None
    code = ord(found.group())
    kind = "control character" if code < 0xD800 else "noncharacter or lone surrogate"
    return f"contains U+{code:04X}, a {kind}, which a CloudEvents String may not hold"


def _json_type(value: Any) -> str:
    return _JSON_TYPES.get(type(value), "another type")


def _is_uri(value: str, absolute: bool) -> bool:
    """RFC 3986: a URI-reference, or with ``absolute`` a URI with a scheme."""
    match = _URI.fullmatch(value)
    if match is None:
        return False
    scheme, host, path = match.group("scheme", "host", "path")
    if absolute and scheme is None:
        return False
    if scheme is None and ":" in path.split("/", 1)[0]:
        return False  # a colon in the first segment would read as a scheme
    if host is None:
        return not path.startswith("//")
    if path and not path.startswith("/"):
        return False
    if host.startswith("["):
        inner = host[1:-1]
        if _IP_FUTURE.fullmatch(inner):
            return True
        try:
            return "%" not in inner and bool(ipaddress.IPv6Address(inner))
        except ValueError:
            return False
    return True


def _is_rfc3339(value: str) -> bool:
    """RFC 3339 section 5.6 date-time, with real calendar dates and leap seconds (5.7)."""
    match = _RFC3339.fullmatch(value)
    if match is None:
        return False
    year, month, day, hour, minute, second = (int(part) for part in match.groups()[:6])
    sign = match.group(7)
    offset_hours, offset_minutes = int(match.group(8) or 0), int(match.group(9) or 0)
    leap_year = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
    days = (31, 29 if leap_year else 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
    if not (1 <= month <= 12 and 1 <= day <= days[month - 1]):
        return False
    if hour > 23 or minute > 59 or second > 60 or offset_hours > 23 or offset_minutes > 59:
        return False
    offset = offset_hours * 60 + offset_minutes
    utc_minute = hour * 60 + minute - (offset if sign == "+" else -offset)
    return second < 60 or utc_minute % 1440 == 1439  # a leap second ends a UTC day


#: core attribute → (its rule beyond "a non-empty String", what to say when it is broken)
_CORE_CHECKS: dict[str, tuple[Callable[[str], object], str]] = {
    "id": (str, ""),
    "type": (str, ""),
    "subject": (str, ""),
    "specversion": ("1.0".__eq__, "must be '1.0': the only version this decoder reads"),
    "source": (lambda value: _is_uri(value, absolute=False), "must be a URI-reference (RFC 3986)"),
    # absolute, as the spec's URI type; a fragment is allowed, as its JSON schema's "uri"
    "dataschema": (lambda value: _is_uri(value, absolute=True), "must be an absolute URI"),
    "time": (_is_rfc3339, "must be an RFC 3339 timestamp, such as 2026-11-25T12:00:00Z"),
    "datacontenttype": (_MEDIA_TYPE.fullmatch, "must be a media type (RFC 2046)"),
}
_JSON_TYPES = {
    type(None): "null",
    bool: "a boolean",
    int: "an integer",
    float: "a number with a fraction or exponent",
    dict: "an object",
    list: "an array",
}


def _raise_if(problems: dict[str, str]) -> None:
    if problems:
        names = ", ".join(sorted(problems))
        raise InvalidEvent(
            f"invalid CloudEvent attributes: {names}", dict(sorted(problems.items()))
        )

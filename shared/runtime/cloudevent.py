"""Strict CloudEvents 1.0 decoding and binary-mode encoding over HTTP.

The SDK (``cloudevents.core``) parses leniently: it fills in a missing ``id``,
``specversion`` and ``time``. Knative's broker answers 400 for such events, so
every request is checked here first, all problems gathered and raised at once,
and only then handed to the SDK. Everything in this module is pure: headers and
bytes in, values out; it knows no web framework.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal
from urllib.parse import unquote

from cloudevents.core.bindings.http import HTTPMessage, from_http_event, to_binary_event
from cloudevents.core.exceptions import BaseCloudEventException
from cloudevents.core.v1.event import CloudEvent

from shared.runtime.errors import InvalidEvent, UnsupportedMediaType

Mode = Literal["binary", "structured", "plain"]

STRUCTURED_TYPE = "application/cloudevents+json"
BATCH_TYPE = "application/cloudevents-batch+json"
REQUIRED = ("id", "source", "specversion", "type")
OPTIONAL = ("datacontenttype", "dataschema", "subject", "time")
_STRING_ATTRIBUTES = REQUIRED + OPTIONAL

_TOKEN = r"[A-Za-z0-9!#$&^_.+-]+"
_MEDIA_TYPE = re.compile(rf'^{_TOKEN}/{_TOKEN}(\s*;\s*{_TOKEN}=("[^"]*"|{_TOKEN}))*\s*$')
_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")
_EXTENSION_NAME = re.compile(r"^[a-z0-9]{1,20}$")
_ABSOLUTE_URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:[^\s\x00-\x1f\x7f]*$")


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
    return value == "application/json" or value.endswith("+json") or value == "text/json"


def decode(headers: Mapping[str, str], body: bytes) -> Incoming:
    """Decode an HTTP request into an :class:`Incoming`, strictly.

    Binary mode when any ``ce-`` header is present; structured mode for
    ``application/cloudevents+json``; plain JSON otherwise. Raises
    :class:`InvalidEvent` (400) listing every problem, or
    :class:`UnsupportedMediaType` (415).
    """
    lowered = {k.lower(): v for k, v in headers.items()}
    content_type = lowered.get("content-type")
    kind = media_type(content_type)
    if any(name.startswith("ce-") for name in lowered):
        attributes = {
            name[3:]: unquote(value) for name, value in lowered.items() if name.startswith("ce-")
        }
        attributes.pop("datacontenttype", None)  # binary mode carries it as Content-Type
        if content_type is not None:
            attributes["datacontenttype"] = content_type
        _raise_if(_check_attributes(attributes) | _check_binary_body(kind, body))
        return _from_sdk("binary", lowered, body, set(attributes))
    if kind == BATCH_TYPE:
        raise InvalidEvent("batched CloudEvents are not supported: send one event per request")
    if kind == STRUCTURED_TYPE:
        envelope = _parse_json(body, "body")
        if not isinstance(envelope, dict):
            raise InvalidEvent("a structured CloudEvent must be a JSON object")
        _raise_if(_check_attributes(envelope) | _check_structured_data(envelope))
        return _from_sdk("structured", lowered, body, set(envelope))
    if is_json_media_type(kind):
        return Incoming("plain", _parse_json(body, "body"))
    raise UnsupportedMediaType(
        f"content type {kind or '(none)'!r} is not accepted: send a CloudEvent "
        "(binary mode with ce-* headers, or application/cloudevents+json) or application/json"
    )


def encode_binary(attributes: Mapping[str, Any], data: Any) -> tuple[dict[str, str], bytes]:
    """Encode one CloudEvent 1.0 in binary mode; returns (headers, body)."""
    event = CloudEvent(dict(attributes), data)
    message = to_binary_event(event)
    return dict(message.headers), message.body


def _from_sdk(mode: Mode, headers: dict[str, str], body: bytes, sent: set[str]) -> Incoming:
    try:
        event = from_http_event(HTTPMessage(headers=headers, body=body))
    except (BaseCloudEventException, ValueError, TypeError) as error:
        raise InvalidEvent(f"not a valid CloudEvent: {error}") from None
    # keep only what the sender sent: the SDK invents a `time` when there is none
    attributes = {k: v for k, v in event.get_attributes().items() if k in sent}
    return Incoming(mode, event.get_data(), attributes)


def _raise_if(problems: dict[str, str]) -> None:
    if problems:
        names = ", ".join(sorted(problems))
        raise InvalidEvent(
            f"invalid CloudEvent attributes: {names}", dict(sorted(problems.items()))
        )


def _parse_json(body: bytes, what: str) -> Any:
    if not body.strip():
        raise InvalidEvent(f"{what} is empty: expected JSON")
    try:
        return json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise InvalidEvent(f"{what} is not valid JSON: {error}") from None


def _check_attributes(attributes: Mapping[str, Any]) -> dict[str, str]:
    """Every problem with the context attributes, as attribute → message."""
    problems: dict[str, str] = {}
    for name in REQUIRED:
        value = attributes.get(name)
        if value is None:
            problems[name] = "required attribute is missing"
        elif not isinstance(value, str) or not value:
            problems[name] = "must be a non-empty string"
    if "specversion" not in problems and attributes["specversion"] != "1.0":
        problems["specversion"] = f"must be '1.0', got {attributes['specversion']!r}"
    for name in OPTIONAL:
        value = attributes.get(name)
        if value is not None and (not isinstance(value, str) or not value):
            problems[name] = "must be a non-empty string when present"
    time = attributes.get("time")
    if isinstance(time, str) and time and not _is_rfc3339(time):
        problems["time"] = f"must be an RFC 3339 timestamp, got {time!r}"
    content_type = attributes.get("datacontenttype")
    if isinstance(content_type, str) and content_type and not _MEDIA_TYPE.match(content_type):
        problems["datacontenttype"] = f"not a valid media type: {content_type!r}"
    schema = attributes.get("dataschema")
    if isinstance(schema, str) and schema and not _ABSOLUTE_URI.match(schema):
        problems["dataschema"] = "must be an absolute URI (scheme:..., no spaces)"
    for name, value in attributes.items():
        if name in _STRING_ATTRIBUTES or name in ("data", "data_base64"):
            continue
        if not _EXTENSION_NAME.match(name):
            problems[name] = "extension names are 1-20 lowercase letters or digits"
        elif value is not None and not isinstance(value, (str, int, bool)):
            problems[name] = "extension values are strings, integers or booleans"
    return problems


def _check_binary_body(kind: str, body: bytes) -> dict[str, str]:
    if body.strip() and is_json_media_type(kind):
        try:
            json.loads(body)
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            return {"data": f"Content-Type says JSON but the body is not: {error}"}
    return {}


def _check_structured_data(envelope: Mapping[str, Any]) -> dict[str, str]:
    if "data" in envelope and "data_base64" in envelope:
        return {"data": "data and data_base64 are mutually exclusive"}
    encoded = envelope.get("data_base64")
    if encoded is None:
        return {}
    try:
        if isinstance(encoded, str):
            base64.b64decode(encoded, validate=True)
            return {}
    except binascii.Error:
        pass
    return {"data_base64": "must be a base64 string"}


def _is_rfc3339(value: str) -> bool:
    if not _RFC3339.match(value):
        return False
    # fromisoformat wants at most 6 fraction digits; RFC 3339 allows any number
    normalised = re.sub(r"(\.\d{6})\d+", r"\1", value.upper().replace("Z", "+00:00"))
    try:
        datetime.fromisoformat(normalised)
    except ValueError:
        return False
    return True

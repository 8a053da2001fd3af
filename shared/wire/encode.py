"""CloudEvents 1.0 out over HTTP: binary mode, and the string forms attributes travel in.

The functions encode their replies with :func:`encode_binary`; the broker re-sends
accepted events with :func:`binary_headers` and the stored :func:`text_attributes` /
:func:`data_bytes`. Pure: values in, headers and bytes out.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from cloudevents.core.bindings.http import to_binary_event
from cloudevents.core.v1.event import CloudEvent

from shared.wire.decode import Incoming

#: Characters a header value keeps as is; the rest is percent-encoded (HTTP binding 3.1.3.2).
_SAFE = "".join(c for c in map(chr, range(0x21, 0x7F)) if c not in ' "%')


def encode_binary(attributes: Mapping[str, Any], data: Any) -> tuple[dict[str, str], bytes]:
    """Encode one CloudEvent 1.0 in binary mode; returns (headers, body)."""
    event = CloudEvent(dict(attributes), data)
    message = to_binary_event(event)
    return dict(message.headers), message.body


def text_attributes(incoming: Incoming) -> dict[str, str]:
    """Attributes in their string wire form (as headers carry them)."""
    out = {}
    for name, value in incoming.attributes.items():
        if isinstance(value, datetime):
            value = value.astimezone(UTC).isoformat().replace("+00:00", "Z")
        elif isinstance(value, bool):
            value = str(value).lower()
        out[name] = str(value)
    return out


def data_bytes(incoming: Incoming, body: bytes = b"") -> bytes:
    """The event's data as delivered: a binary-mode body exactly as it came (re-encoding
    could change what a subscriber sees), structured-mode data encoded on its own."""
    if incoming.mode == "binary":
        return body
    data = incoming.data
    if data is None:
        return b""
    if isinstance(data, bytes):
        return data
    if isinstance(data, str):
        return data.encode()
    return json.dumps(data, separators=(",", ":")).encode()


def binary_headers(attributes: Mapping[str, str], omit: Collection[str] = ()) -> dict[str, str]:
    """Binary-mode headers of string attributes (``datacontenttype`` as Content-Type),
    leaving out the names in ``omit``."""
    headers = {}
    for name, value in attributes.items():
        if name in omit:
            continue
        if name == "datacontenttype":
            headers["Content-Type"] = value
        else:
            headers[f"ce-{name}"] = quote(value, safe=_SAFE)
    return headers

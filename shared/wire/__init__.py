"""CloudEvents 1.0 over HTTP, both ways: one module for the functions and the platform.

- :func:`decode` (strict, every problem at once as :class:`~shared.errors.InvalidEvent`)
  in :mod:`shared.wire.decode`, its JSON reading in :mod:`shared.wire.json_text`;
- :func:`encode_binary`, :func:`binary_headers`, :func:`text_attributes`,
  :func:`data_bytes` in :mod:`shared.wire.encode`.

The errors these raise are in :mod:`shared.errors` (one tree with the runtime's).
"""

from shared.wire.decode import (
    OPTIONAL,
    REQUIRED,
    STRUCTURED_TYPE,
    Incoming,
    decode,
    is_json_media_type,
    media_type,
)
from shared.wire.encode import binary_headers, data_bytes, encode_binary, text_attributes
from shared.wire.json_text import MAX_JSON_DEPTH

__all__ = [
    "MAX_JSON_DEPTH",
    "OPTIONAL",
    "REQUIRED",
    "STRUCTURED_TYPE",
    "Incoming",
    "binary_headers",
    "data_bytes",
    "decode",
    "encode_binary",
    "is_json_media_type",
    "media_type",
    "text_attributes",
]

"""Strict RFC 8259 JSON from bytes, with a nesting limit checked before parsing.

Messages are our own (never the ``json`` module's text): they reach callers as the
reason of a 400.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from typing import Any

from shared.errors import InvalidEvent

#: The deepest nesting accepted in any body (structured envelope, binary data, plain
#: JSON), checked by one linear scan before parsing: ``json.loads`` would otherwise raise
#: RecursionError (a 500) near 1000 levels. Event data nests a handful of levels.
MAX_JSON_DEPTH = 64

# JSON depth scan: with escapes gone, a string is a quote to the next quote (or the end)
_JSON_STRING = re.compile(rb'"[^"]*"?')
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")


class NotJson(InvalidEvent):
    """A body that is not strict RFC 8259 JSON, said in our own words."""


def load_json(body: bytes, what: str, track_repeats: bool = False) -> tuple[Any, set[str]]:
    """Strict RFC 8259 JSON from UTF-8 bytes, and the names repeated in its top object.

    Raises :class:`NotJson` with a message of our own.
    """
    if _too_deep(body):
        raise NotJson(f"{what} nests JSON deeper than {MAX_JSON_DEPTH} levels")
    try:
        text = body.decode("utf-8")  # RFC 8259: UTF-8 only (json.loads would take UTF-16)
    except UnicodeDecodeError as error:
        raise NotJson(f"{what} is not UTF-8 (bad byte at offset {error.start})") from None
    repeated: set[str] = set()

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        # the top object is built last, so what's left in `repeated` is its own
        result = dict(items)
        repeated.clear()
        if len(result) < len(items):
            repeated.update(name for name, n in Counter(k for k, _ in items).items() if n > 1)
        return result

    try:
        value = json.loads(
            text,
            parse_constant=_refuse_constant,
            object_pairs_hook=pairs if track_repeats else None,
        )
    except json.JSONDecodeError as error:
        raise NotJson(
            f"{what} is not valid JSON (line {error.lineno}, column {error.colno})"
        ) from None
    except RecursionError:  # unreachable below MAX_JSON_DEPTH; never a 500 all the same
        raise NotJson(f"{what} nests JSON too deeply") from None
    return value, repeated


def _refuse_constant(name: str) -> Any:
    raise NotJson(f"{name} is not a JSON value (RFC 8259)")


def _too_deep(body: bytes) -> bool:
    """Whether brackets outside strings nest deeper than MAX_JSON_DEPTH: linear, no parsing."""
    if body.count(b"[") + body.count(b"{") <= MAX_JSON_DEPTH:
        return False
    # drop escaped backslashes, then escaped quotes: every quote left opens or closes a string
    unescaped = body.replace(b"\\\\", b"").replace(b'\\"', b"")
    depth = 0
    for byte in _JSON_STRING.sub(b"", unescaped).translate(None, _NOT_BRACKETS):
        depth += 1 if byte in b"[{" else -1
        if depth > MAX_JSON_DEPTH:
            return True
    return False

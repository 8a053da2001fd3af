"""What the broker ingress admits: the checks an event passes before it is stored.

A sender's ``knativebrokerttl`` is clamped (the loop guard holds), ``knativearrivaltime``
and ``knativeerror*`` are the broker's own, the attributes must fit a subscriber's
headers, and a full backlog is a 429 with Retry-After. A subscriber's answer is read
only up to a limit.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import aiohttp

from shared.wire import binary_headers

MAX_TTL = 255
TTL = "knativebrokerttl"
ARRIVAL = "knativearrivaltime"
#: Attributes only the broker sets (dead-letter details); a sender's copies are dropped.
ERROR_PREFIX = "knativeerror"
#: Budget for the attributes as they travel (binary mode: one ``ce-`` header each). Every
#: subscriber must be able to take what the ingress accepted: aiohttp refuses a header
#: line over 8190 bytes, waitress (the functions' server) headers over 256 KiB.
MAX_HEADER_LINE = 8000
MAX_ATTRIBUTES_BYTES = 64 * 1024
#: Bodies up to this size are decoded on the event loop; larger ones on a worker thread.
DECODE_INLINE_BYTES = 64 * 1024
#: Back-pressure: deliveries held in memory (and the bytes of their events) before the
#: ingress answers 429 with Retry-After instead of accepting more.
BACKLOG_ENV = "BINKS_BROKER_BACKLOG"
DEFAULT_BACKLOG = 4096
BACKLOG_BYTES = 64 * 1024 * 1024
RETRY_AFTER_S = 1


#: The most a subscriber's answer may be; the rest is never read into memory.
MAX_ANSWER = 8 * 1024 * 1024


class AnswerTooLarge(Exception):
    """A subscriber answered more than :data:`MAX_ANSWER` bytes."""


async def read_bounded(response: aiohttp.ClientResponse, limit: int) -> bytes:
    """The whole body of ``response``, or AnswerTooLarge once it passes ``limit`` bytes."""
    if response.content_length is not None and response.content_length > limit:
        raise AnswerTooLarge(response.content_length)
    chunks, size = [], 0
    async for chunk in response.content.iter_chunked(64 * 1024):
        size += len(chunk)
        if size > limit:
            raise AnswerTooLarge(size)
        chunks.append(chunk)
    return b"".join(chunks)


class IngressError(Exception):
    def __init__(
        self,
        status: int,
        reason: str,
        details: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(reason)
        self.status, self.reason, self.details = status, reason, dict(details or {})
        self.headers = dict(headers or {})


def backlog_from_env(env: Mapping[str, str]) -> int:
    """``BINKS_BROKER_BACKLOG``: how many deliveries may wait in memory (default 4096)."""
    raw = env.get(BACKLOG_ENV, "").strip()
    if not raw:
        return DEFAULT_BACKLOG
    if not raw.isdigit() or int(raw) < 1:
        raise ValueError(f"{BACKLOG_ENV} must be a positive integer, got {raw!r}")
    return int(raw)


def ingress_ttl(raw: str | None) -> int:
    """The TTL an event enters with: a sender's value, clamped to :data:`MAX_TTL`.

    Raises IngressError(400) when it is not an integer or is already exhausted.
    """
    if raw is None:
        return MAX_TTL
    if not re.fullmatch(r"[+-]?\d{1,12}", raw.strip()):
        raise IngressError(400, f"{TTL} must be an integer, got {raw[:40]!r}")
    ttl = int(raw)
    if ttl <= 0:
        raise IngressError(400, f"{TTL} exhausted: event dropped (loop guard)")
    return min(ttl, MAX_TTL)  # a huge value must not defeat the loop guard


def attributes_over_budget(attributes: Mapping[str, str]) -> str | None:
    """Why the attributes are too large to deliver as headers, or None if they fit."""
    total = 0
    for name, value in binary_headers(attributes, omit=(TTL,)).items():
        line = len(name) + 2 + len(value)
        if line > MAX_HEADER_LINE:
            return (
                f"attribute {name.removeprefix('ce-').lower()!r} is {line} bytes as a header "
                f"(limit {MAX_HEADER_LINE})"
            )
        total += line
    if total > MAX_ATTRIBUTES_BYTES:
        return f"the attributes are {total} bytes as headers (limit {MAX_ATTRIBUTES_BYTES})"
    return None

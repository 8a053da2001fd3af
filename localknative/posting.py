"""One delivery's HTTP call to a subscriber and what it answered (:class:`DeliveryOutcome`):
a reply event, an empty 2xx, or why it failed, for the broker's retry rules."""

from __future__ import annotations

from dataclasses import dataclass

import aiohttp

from localknative.admission import MAX_ANSWER, AnswerTooLarge, read_bounded
from shared.errors import FunctionError, InvalidEvent
from shared.wire import Incoming, decode


@dataclass(frozen=True)
class DeliveryOutcome:
    """What one attempt came to; ``status`` None when nothing answered."""

    status: int | None
    body: bytes = b""
    error: str | None = None
    reply: Incoming | None = None
    timed_out: bool = False
    #: the connection was refused: nothing was delivered (a dead instance's closed port)
    refused: bool = False
    #: seconds spent waiting for an instance, and the cold start it waited for (if any)
    wait_s: float = 0.0
    cold_start_s: float | None = None
    #: that start restored a checkpoint (``binks up --start snapshot``)
    restored: bool = False


async def post(
    session: aiohttp.ClientSession | None,
    url: str,
    headers: dict[str, str],
    body: bytes,
    timeout_s: float,
) -> DeliveryOutcome:
    """POST one event to ``url``; what came back, read up to ``MAX_ANSWER``: a reply
    event, an empty 2xx, or the failure (never an exception)."""
    assert session is not None
    try:
        async with session.post(
            url, data=body, headers=headers, timeout=aiohttp.ClientTimeout(total=timeout_s)
        ) as response:
            status = response.status
            answer_headers = dict(response.headers)
            payload = await read_bounded(response, MAX_ANSWER)
    except AnswerTooLarge:
        return DeliveryOutcome(502, error=f"the answer is over {MAX_ANSWER} bytes")
    except TimeoutError:
        return DeliveryOutcome(
            None, error=f"TimeoutError: no answer within {timeout_s:g}s", timed_out=True
        )
    except (aiohttp.ClientError, OSError) as problem:
        # kept for the event log (``binks events``); never sent to a client
        refused = isinstance(problem, aiohttp.ClientConnectorError)
        return DeliveryOutcome(None, error=f"{type(problem).__name__}: {problem}", refused=refused)
    if not 200 <= status < 300:
        return DeliveryOutcome(status, payload, error=f"HTTP {status}")
    has_event = any(k.lower().startswith("ce-") for k in answer_headers) or payload.strip()
    if not has_event:
        return DeliveryOutcome(status)
    try:
        reply = decode(answer_headers, payload)
        if reply.mode == "plain":
            raise InvalidEvent("a 2xx body must be empty or a CloudEvent")
    except (FunctionError, ValueError) as problem:
        reason = getattr(problem, "reason", str(problem))
        return DeliveryOutcome(502, payload, error=f"reply is not a CloudEvent: {reason}")
    return DeliveryOutcome(status, payload, reply=reply)

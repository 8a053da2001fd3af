"""Client side of the kn-like commands: send, invoke, events, ps (talks to ``binks up``)."""

from __future__ import annotations

import contextlib
import json
import os
import sys
import time
import urllib.error
import urllib.request
import uuid
from typing import Any

from events import TASK_EXTENSION

DEFAULT_PLATFORM = os.environ.get("BINKS_PLATFORM", "http://127.0.0.1:8470")
KN_DEFAULT_DATA = '{"message":"Hello World"}'


class ClientError(RuntimeError):
    """Something the user should read: names the problem, no traceback."""


def _request(
    url: str,
    body: bytes | None = None,
    headers: dict | None = None,
    method: str | None = None,
    timeout: float = 600,
) -> tuple[int, dict, bytes]:
    request = urllib.request.Request(url, body, headers or {}, method=method)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:
            return answer.status, dict(answer.headers), answer.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()
    except (urllib.error.URLError, OSError) as error:
        reason = getattr(error, "reason", error)
        raise ClientError(
            f"cannot reach the platform at {url}: {reason} (is `binks up` running?)"
        ) from None


def parse_pairs(pairs: list[str], what: str) -> dict[str, str]:
    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ClientError(f"{what} {pair!r} is not key=value")
        out[key] = value
    return out


def event_data(data: str | None, fields: list[str]) -> bytes:
    if data is not None and fields:
        raise ClientError("give --data or --field, not both")
    if fields:
        return json.dumps(parse_pairs(fields, "--field")).encode()
    text = data if data is not None else "{}"
    try:
        json.loads(text)
    except json.JSONDecodeError as error:
        raise ClientError(f"--data is not valid JSON: {error}") from None
    return text.encode()


def send(
    platform: str,
    to: str,
    event_type: str,
    source: str,
    data: bytes,
    extensions: dict[str, str],
    event_id: str | None = None,
) -> dict[str, str]:
    """POST one binary-mode event to broker ingress; returns the attributes sent."""
    kind, _, name = to.partition(":")
    if kind != "broker" or not name:
        raise ClientError(f"--to {to!r}: use broker:NAME (e.g. broker:default)")
    namespace, _, broker = name.rpartition("/")
    attributes = {
        "specversion": "1.0",
        "id": event_id or str(uuid.uuid4()),
        "source": source,
        "type": event_type,
        **extensions,
    }
    attributes.setdefault(TASK_EXTENSION, attributes["id"])
    headers = {f"ce-{k}": v for k, v in attributes.items()}
    headers["Content-Type"] = "application/json"
    url = f"{platform}/{namespace or 'default'}/{broker}"
    status, _, body = _request(url, data, headers, "POST", timeout=30)
    if status != 202:
        raise ClientError(
            f"the broker refused the event (HTTP {status}): {body.decode(errors='replace')}"
        )
    return attributes


def events(platform: str, after: int = 0, event_type: str | None = None) -> list[dict[str, Any]]:
    query = f"?after={after}" + (f"&type={event_type}" if event_type else "")
    status, _, body = _request(f"{platform}/_binks/events{query}", timeout=30)
    if status != 200:
        raise ClientError(f"events: HTTP {status}: {body.decode(errors='replace')}")
    return json.loads(body)["events"]


def wait_for(
    platform: str,
    types: str | tuple[str, ...],
    task: str,
    timeout_s: float,
    after: int = 0,
    count: int = 1,
) -> list[dict[str, Any]]:
    """The first ``count`` events of the given type(s) in ``task``; ClientError on timeout."""
    types = (types,) if isinstance(types, str) else types
    deadline = time.monotonic() + timeout_s
    found: list[dict[str, Any]] = []
    cursor = after
    while time.monotonic() < deadline:
        for row in events(platform, cursor, types[0] if len(types) == 1 else None):
            cursor = max(cursor, row["seq"])
            attributes = row["attributes"]
            if (
                attributes.get("type") in types
                and attributes.get(TASK_EXTENSION) == task
                and row["origin"] in ("ingress", "reply")
            ):
                found.append(row)
                if len(found) >= count:
                    return found
        time.sleep(0.2)
    raise ClientError(
        f"{len(found)} of {count} {' or '.join(types)} events for task {task} "
        f"within {timeout_s:.0f} s"
    )


def last_seq(platform: str) -> int:
    rows = events(platform)
    seq = 0
    while rows:
        seq = rows[-1]["seq"]
        rows = events(platform, seq)
    return seq


def invoke(
    platform: str,
    service: str,
    namespace: str,
    data: str | None,
    fmt: str,
    event_type: str,
    source: str,
) -> tuple[int, dict, bytes]:
    """``kn func invoke`` against a Service, through the platform's Host routing."""
    body = (data if data is not None else KN_DEFAULT_DATA).encode()
    headers = {"Host": f"{service}.{namespace}.localhost", "Content-Type": "application/json"}
    if fmt == "cloudevent":
        headers.update(
            {
                "ce-specversion": "1.0",
                "ce-id": str(uuid.uuid4()),
                "ce-source": source,
                "ce-type": event_type,
            }
        )
    elif fmt != "http":
        raise ClientError(f"--format {fmt!r}: use http or cloudevent")
    return _request(platform + "/", body, headers, "POST")


def print_event(row: dict[str, Any]) -> None:
    data: Any = row.get("data")
    with contextlib.suppress(TypeError, json.JSONDecodeError):
        data = json.loads(data)
    print(json.dumps({"attributes": row["attributes"], "data": data}, indent=2))
    sys.stdout.flush()

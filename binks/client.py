"""Client side of the kn-like commands: send, invoke, events, ps (talks to ``binks up``)."""

from __future__ import annotations

import contextlib
import json
import os
import sys
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from binks import waiting
from events import INVOKED_WITH, TASK_EXTENSION, DataError, load_example, validate_data
from localknative import credential
from shared import variants

DEFAULT_PLATFORM = os.environ.get("BINKS_PLATFORM", "http://127.0.0.1:8470")
KN_DEFAULT_DATA = '{"message":"Hello World"}'
KN_DEFAULT_TYPE = "boson.fn"


class ClientError(RuntimeError):
    """Something the user should read: names the problem, no traceback."""


@dataclass(frozen=True)
class Platform:
    """A running ``binks up``: its URL, and the state dir that holds its credential.

    The credential is read at each control call, so a restarted platform (a new
    credential) needs no new client.
    """

    url: str
    state: Path

    def auth(self) -> dict[str, str]:
        """The header the control API (``/_binks/*``) needs."""
        try:
            return credential.header(credential.read(self.state))
        except credential.CredentialMissing as missing:
            raise ClientError(str(missing)) from None

    def control(self, path: str, timeout: float = 30) -> bytes:
        """GET a control endpoint; ClientError naming the platform's reason otherwise."""
        status, _, body = _request(self.url + path, headers=self.auth(), timeout=timeout)
        if status != 200:
            raise ClientError(f"{path.split('?')[0]}: HTTP {status}: {_reason(body)}")
        return body


def _reason(body: bytes) -> str:
    with contextlib.suppress(ValueError, AttributeError):
        return str(json.loads(body)["error"])
    return body.decode(errors="replace")[:300]


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


def data_of(data: str | None, fields: list[str]) -> bytes:
    """The event's data from ``--data`` or ``--field`` pairs, as JSON bytes."""
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
    platform: Platform,
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
    url = f"{platform.url}/{namespace or 'default'}/{broker}"
    status, _, body = _request(url, data, headers, "POST", timeout=30)
    if status != 202:
        raise ClientError(
            f"the broker refused the event (HTTP {status}): {body.decode(errors='replace')}"
        )
    return attributes


def events(
    platform: Platform,
    after: int = 0,
    event_type: str | None = None,
    task: str | None = None,
    data: bool = False,
) -> tuple[list[dict[str, Any]], bool]:
    """One page of the event log after ``after``: (rows, whether more follow)."""
    query = {"after": after, "type": event_type, "task": task, "data": int(data)}
    query_string = urllib.parse.urlencode({k: v for k, v in query.items() if v})
    page = json.loads(platform.control(f"/_binks/events?{query_string}"))
    return page["events"], page["more"]


def all_events(platform: Platform, after: int = 0, **filters: Any) -> Iterator[dict[str, Any]]:
    """Every event after ``after``, page by page (one page in memory at a time)."""
    while True:
        rows, more = events(platform, after, **filters)
        yield from rows
        if not rows or not more:
            return
        after = rows[-1]["seq"]


def event_data(platform: Platform, seq: int) -> bytes:
    """One event's whole data."""
    return platform.control(f"/_binks/events/{seq}/data", timeout=60)


def wait_for(
    platform: Platform,
    types: str | tuple[str, ...],
    task: str,
    timeout_s: float,
    after: int = 0,
    count: int = 1,
    on_line: Callable[[str], None] = lambda line: None,
    line_of: Callable[[dict[str, Any], float], str] = waiting.progress_line,
) -> waiting.Answers:
    """The first ``count`` answers in ``task``: events of the given type(s) or their
    ``...failed`` siblings, each with its whole ``data`` (text); ClientError on timeout.
    ``on_line`` gets the task's events as they happen, as ``line_of`` writes them
    (``waiting.wait``)."""
    types = (types,) if isinstance(types, str) else types

    def rows_after(seq: int) -> list[dict[str, Any]]:
        return list(all_events(platform, seq, task=task))

    def data_of(seq: int) -> str:
        return event_data(platform, seq).decode("utf-8", "replace")

    try:
        return waiting.wait(rows_after, data_of, types, count, timeout_s, after, on_line, line_of)
    except waiting.WaitTimeout as problem:
        raise ClientError(f"{problem} for task {task}") from None


def check_data(event_type: str, data: bytes) -> None:
    """ClientError naming every field of ``data`` that breaks ``event_type``'s schema
    (before anything is sent); types without a schema in ``events/`` are not checked."""
    try:
        validate_data(event_type, json.loads(data))
    except KeyError:
        return
    except DataError as problem:
        fields = "; ".join(f"{name}: {why}" for name, why in problem.errors.items())
        raise ClientError(
            f"the data does not fit {event_type} (events/schemas/{event_type}.json): {fields}"
        ) from None


def last_seq(platform: Platform) -> int:
    """The newest event's seq (0 for an empty log)."""
    rows = json.loads(platform.control("/_binks/events?order=desc&limit=1"))["events"]
    return rows[0]["seq"] if rows else 0


def ps(platform: Platform) -> list[dict[str, Any]]:
    """The Services with their instances (``GET /_binks/ps``)."""
    return json.loads(platform.control("/_binks/ps", timeout=10))["services"]


def invocation(service: str, event_type: str | None, data: str | None) -> tuple[str, bytes]:
    """What ``binks invoke`` sends: the given type, else the one the Service's role is
    invoked with (``events.INVOKED_WITH``; kn's ``boson.fn`` for a Service that is not
    ours); the given data, else that type's example data (else kn's Hello World)."""
    parsed = variants.parse_service(service)
    if event_type is None:
        event_type = INVOKED_WITH.get(parsed[0], KN_DEFAULT_TYPE) if parsed else KN_DEFAULT_TYPE
    if data is None:
        try:
            return event_type, json.dumps(load_example(event_type)["data"]).encode()
        except FileNotFoundError:
            return event_type, KN_DEFAULT_DATA.encode()
    return event_type, data.encode()


def invoke(
    platform: Platform,
    service: str,
    namespace: str,
    data: str | None,
    fmt: str,
    event_type: str | None,
    source: str,
) -> tuple[int, dict, bytes]:
    """``kn func invoke`` against a Service, through the platform's Host routing."""
    event_type, body = invocation(service, event_type, data)
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
    return _request(platform.url + "/", body, headers, "POST")


def recent_events(platform: Platform, limit: int = 200) -> list[dict[str, Any]]:
    """The newest ``limit`` events (≤ 500), newest first, without data."""
    page = json.loads(platform.control(f"/_binks/events?order=desc&limit={min(limit, 500)}"))
    return page["events"]


def log_of(platform: Platform, service: str) -> Path:
    """The log file of one of the platform's Services (``<state>/logs/<service>.log``);
    ClientError naming the Services when ``service`` is not one (never a path from input)."""
    names = sorted(row["service"] for row in ps(platform))
    if service not in names:
        raise ClientError(f"no Service {service!r}; the platform runs: {', '.join(names)}")
    return platform.state / "logs" / f"{service}.log"


def failure_reason(row: dict[str, Any]) -> str:
    """A failed answer's type, variant and reason, in one line."""
    data: Any = row.get("data")
    with contextlib.suppress(TypeError, json.JSONDecodeError):
        data = json.loads(data)
    return waiting.reason_of(row, data)


def print_event(row: dict[str, Any]) -> None:
    data: Any = row.get("data")
    with contextlib.suppress(TypeError, json.JSONDecodeError):
        data = json.loads(data)
    print(json.dumps({"attributes": row["attributes"], "data": data}, indent=2))
    sys.stdout.flush()

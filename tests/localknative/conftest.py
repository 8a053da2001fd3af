"""A real platform process (``binks up``) per test module, and recording subscribers."""

from __future__ import annotations

import json
import socket
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from localknative.launch import RunningPlatform, start_platform


@dataclass
class Platform:
    """``binks up`` as a subprocess on a port the kernel picked, with its own manifests
    and state; control API calls carry its credential."""

    manifests: Path
    state: Path
    env: dict[str, str] = field(default_factory=dict)
    window_s: float = 2.0
    running: RunningPlatform | None = None
    runtime: str = "process"
    start_mode: str = "cold"

    @property
    def url(self) -> str:
        assert self.running, "start() first"
        return self.running.url

    @property
    def port(self) -> int:
        assert self.running, "start() first"
        return self.running.port

    @property
    def process(self):
        return self.running.process if self.running else None

    def start(self) -> Platform:
        options = ["--manifests", str(self.manifests), "--window", str(self.window_s)]
        options += ["--runtime", self.runtime, "--start", self.start_mode]
        self.state.mkdir(parents=True, exist_ok=True)
        with (self.state.parent / f"{self.state.name}-platform.log").open("ab") as log:
            self.running = start_platform(self.state, *options, env=self.env, log=log.fileno())
        return self

    def stop(self, kill: bool = False) -> None:
        if self.running:
            self.running.stop(60, kill=kill)

    def control(self, path: str) -> dict:
        """GET a control endpoint with the platform's credential."""
        assert self.running, "start() first"
        request = urllib.request.Request(self.url + path, headers=self.running.auth())
        with urllib.request.urlopen(request, timeout=60) as answer:
            return json.load(answer)

    def text(self, path: str, host: str | None = None) -> str:
        """GET ``path`` as text with the credential (``host``: a Service's, through the
        platform's Host routing, which needs none)."""
        assert self.running, "start() first"
        headers = {"Host": host} if host else self.running.auth()
        request = urllib.request.Request(self.url + path, headers=headers)
        with urllib.request.urlopen(request, timeout=60) as answer:
            return answer.read().decode()

    def post(self, path: str, body: bytes, headers: dict[str, str], method: str = "POST"):
        request = urllib.request.Request(self.url + path, body, headers, method=method)
        try:
            with urllib.request.urlopen(request, timeout=60) as answer:
                return answer.status, dict(answer.headers), answer.read()
        except urllib.error.HTTPError as error:
            return error.code, dict(error.headers), error.read()

    def send(self, event_type: str, data: dict | None = None, **extensions: str) -> tuple[int, str]:
        event_id = str(uuid.uuid4())
        headers = {
            "ce-specversion": "1.0",
            "ce-id": event_id,
            "ce-source": "/tests",
            "ce-type": event_type,
            "content-type": "application/json",
            **{f"ce-{k}": v for k, v in extensions.items()},
        }
        status, _, _ = self.post("/default/default", json.dumps(data or {}).encode(), headers)
        return status, event_id

    def events(self, event_type: str | None = None, data: bool = True) -> list[dict]:
        """Every event (page by page), with up to 64 KiB of each one's data."""
        rows: list[dict] = []
        query = f"&type={event_type}" if event_type else ""
        query += "&data=1&data_bytes=65536" if data else ""
        while True:
            after = rows[-1]["seq"] if rows else 0
            page = self.control(f"/_binks/events?limit=500&after={after}{query}")
            rows += page["events"]
            if not page["more"]:
                return rows

    def ps(self) -> dict[str, dict]:
        return {row["service"]: row for row in self.control("/_binks/ps")["services"]}

    def wait(
        self, condition: Callable[[], object], timeout_s: float = 30, what: str = ""
    ) -> object:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            result = condition()
            if result:
                return result
            time.sleep(0.1)
        raise AssertionError(f"timed out waiting for {what or condition}")


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    at: float


class Subscriber:
    """A real HTTP subscriber that records requests and answers from a script.

    ``responses`` is consumed one per request: (status, headers, body); when it
    runs out, ``default`` answers.
    """

    def __init__(
        self,
        default=(202, {}, b""),
        responses=(),
        delay_s: float = 0.0,
        sock: socket.socket | None = None,
    ) -> None:
        self.default = default
        self.responses = list(responses)
        self.delay_s = delay_s
        self.received: list[Received] = []
        self.lock = threading.Lock()
        subscriber = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with subscriber.lock:
                    subscriber.received.append(Received(dict(self.headers), body, time.monotonic()))
                    status, headers, payload = (
                        subscriber.responses.pop(0) if subscriber.responses else subscriber.default
                    )
                if subscriber.delay_s:
                    time.sleep(subscriber.delay_s)
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        # ``sock``: a port reserved earlier (tests.conftest.closed_port) starts listening now
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler, bind_and_activate=sock is None)
        if sock is not None:
            self.server.socket.close()
            self.server.socket = sock
            self.server.server_activate()
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def subscribers() -> Iterator[Callable[..., Subscriber]]:
    made: list[Subscriber] = []

    def make(*args, **kwargs) -> Subscriber:
        made.append(Subscriber(*args, **kwargs))
        return made[-1]

    yield make
    for subscriber in made:
        subscriber.close()


BROKER = """
apiVersion: eventing.knative.dev/v1
kind: Broker
metadata: {{name: default, namespace: default}}
spec:
  delivery: {delivery}
"""


def trigger(name: str, uri: str, filters: str = "", delivery: str = "") -> str:
    return f"""
---
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata: {{name: {name}, namespace: default}}
spec:
  broker: default
{filters}
  subscriber: {{uri: "{uri}"}}
{delivery}
"""


@pytest.fixture
def platform_factory(tmp_path: Path) -> Iterator[Callable[..., Platform]]:
    started: list[Platform] = []

    def make(
        manifest: str,
        env: dict | None = None,
        window_s: float = 2.0,
        state: Path | None = None,
        runtime: str = "process",
        start: str = "cold",
    ) -> Platform:
        directory = tmp_path / f"manifests-{len(started)}"
        directory.mkdir()
        (directory / "all.yaml").write_text(manifest)
        state = state or tmp_path / f"state-{len(started)}"
        platform = Platform(
            directory, state, env or {}, window_s, runtime=runtime, start_mode=start
        )
        started.append(platform.start())
        return platform

    yield make
    for platform in started:
        platform.stop()

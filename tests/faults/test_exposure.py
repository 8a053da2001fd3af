"""Exposure: the platform, the functions and the model server listen on loopback unless
told otherwise, and saying otherwise prints a warning; secrets in the environment or
in an Authorization header reach no log, no stored event and no subscriber."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from functions.code_reviewer.role import ROLE
from localknative.launch import start_platform
from localknative.paths import REPO
from shared.runtime import create_app
from tests.localknative.conftest import BROKER, trigger

pytestmark = pytest.mark.faults

SECRET_ENV = {"BINKS_API_TOKEN": "s3cret-env-token", "SOME_PASSWORD": "s3cret-env-password"}
BEARER = "Bearer s3cret-bearer"
CE = {
    "ce-specversion": "1.0",
    "ce-id": "secret-1",
    "ce-source": "/faults",
    "ce-type": "dev.binks.review.requested",
    "content-type": "application/json",
    "Authorization": BEARER,
}


def listening(port: int) -> set[str]:
    """The local addresses (as /proc/net/tcp{,6} writes them) listening on ``port``."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, hex_port = local.split(":")
            if state == "0A" and int(hex_port, 16) == port:  # 0A: LISTEN
                found.add(address)
    return found


def test_the_platform_listens_on_loopback_by_default(platform_factory, subscribers) -> None:
    platform = platform_factory(BROKER.format(delivery="{}") + trigger("t", subscribers().url))
    assert listening(platform.port) == {"0100007F"}  # 127.0.0.1


def test_binding_wider_is_explicit_and_warned(tmp_path: Path) -> None:
    (tmp_path / "manifests").mkdir()
    (tmp_path / "manifests" / "all.yaml").write_text(BROKER.format(delivery="{}"))
    options = ("--manifests", str(tmp_path / "manifests"))
    with (tmp_path / "up.log").open("wb") as log:
        running = start_platform(tmp_path / "s", *options, host="0.0.0.0", log=log.fileno())
    try:
        assert listening(running.port) == {"00000000"}  # 0.0.0.0, as asked
    finally:
        running.stop(30)
    assert "warning: binding 0.0.0.0" in (tmp_path / "up.log").read_text()


def test_functions_bind_loopback_unless_binks_bind_says_otherwise() -> None:
    from shared.runtime.serve import bind_address

    assert bind_address({"PORT": "8080"}) == ("127.0.0.1", 8080)
    assert bind_address({"PORT": "8080", "BINKS_BIND": "0.0.0.0"}) == ("0.0.0.0", 8080)


def test_the_model_server_warns_before_binding_wider() -> None:
    command = [sys.executable, "-m", "modelserver", "--host", "0.0.0.0", "--port", "1"]
    with subprocess.Popen(command, cwd=REPO, stderr=subprocess.PIPE, text=True) as server:
        first = server.stderr.readline()  # printed before any model is loaded
        server.kill()
    assert first.startswith("warning: binding 0.0.0.0")


def test_secrets_reach_no_log_event_or_subscriber(platform_factory, subscribers) -> None:
    sink = subscribers()
    platform = platform_factory(
        BROKER.format(delivery="{}") + trigger("t", sink.url), env=SECRET_ENV
    )
    assert platform.post("/default/default", b"{}", CE)[0] == 202
    platform.wait(lambda: sink.received, what="the delivery")
    stored = json.dumps(platform.events())
    platform.stop()
    texts = [
        stored,
        json.dumps([r.headers for r in sink.received]),
        *(
            p.read_bytes().decode("utf-8", "replace")
            for p in platform.state.rglob("*")
            if p.is_file()
        ),
        (platform.state.parent / f"{platform.state.name}-platform.log").read_text(),
    ]
    for secret in (*SECRET_ENV.values(), "s3cret-bearer"):
        assert not any(secret in text for text in texts), secret


def test_a_function_logs_no_secret(capfd, tmp_path) -> None:
    env = {
        "BINKS_REPO_BASE": str(REPO / "workspace"),
        "BINKS_STATE_DIR": str(tmp_path),
        **SECRET_ENV,
    }

    class Runner:
        variant = "agno"

        def run(self, task) -> str:
            return json.dumps({"summary": "ok", "findings": []})

    client = create_app(ROLE, "agno", runner=Runner(), env=env).test_client()
    body = json.dumps({"repository": "sample-repo"})
    assert client.post("/", data=body, headers=CE).status_code == 200
    log = capfd.readouterr()
    for secret in (*SECRET_ENV.values(), "s3cret-bearer"):
        assert secret not in log.err + log.out

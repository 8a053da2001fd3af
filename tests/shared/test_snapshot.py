"""The function's side of snapshot start (``shared.runtime.snapshot``): the handover
message, the re-seeding and the refusals, on real sockets."""

from __future__ import annotations

import json
import os
import random
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from shared.listen import bind_listener
from shared.runtime import snapshot

REPO = Path(__file__).parents[2]


def in_a_process(
    code: str, message: bytes, fds: list[int]
) -> tuple[bytes, subprocess.CompletedProcess]:
    """Run ``code`` (after ``from shared.runtime import snapshot``) in a fresh process
    holding only the function's end of a snapshot socket; the platform's end sends
    ``message`` with ``fds`` once the process said its line. (That line, how it ended.)"""
    platform, function = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    env = {**os.environ, "PYTHONPATH": str(REPO), snapshot.SNAPSHOT_FD_ENV: str(function.fileno())}
    process = subprocess.Popen(
        [sys.executable, "-c", f"from shared.runtime import snapshot\n{code}"],
        env=env,
        pass_fds=(function.fileno(),),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    function.close()
    with platform:
        announced = platform.makefile("rb").readline()
        if announced:
            socket.send_fds(platform, [message], fds)
    out, err = process.communicate(timeout=60)
    done = subprocess.CompletedProcess(process.args, process.returncode, out.decode(), err.decode())
    return announced, done


def test_a_handover_brings_the_listener_and_the_environment() -> None:
    listener = bind_listener()
    code = (
        "import json, os\n"
        "got = snapshot.await_handover()\n"
        "print(json.dumps({'port': got.listener.getsockname()[1], 'env': dict(os.environ)}))"
    )
    message = json.dumps({"env": {"PORT": "1234", "K_REVISION": "r-1"}}).encode()
    announced, done = in_a_process(code, message, [listener.fileno()])
    print(announced, done.stdout, done.stderr)
    assert announced == snapshot.IMPORTED
    seen = json.loads(done.stdout)
    assert seen["port"] == listener.getsockname()[1]
    assert seen["env"]["PORT"] == "1234" and seen["env"]["K_REVISION"] == "r-1"
    assert snapshot.SNAPSHOT_FD_ENV not in seen["env"]
    listener.close()


def test_a_process_with_a_connection_open_says_it_is_unsafe_and_starts_cold() -> None:
    """A connection made during the imports would be carried into every copy: the process
    says so instead of ``imported`` (the platform takes no checkpoint) and, handed over,
    serves as a cold start."""
    server = bind_listener()
    listener = bind_listener()
    port = server.getsockname()[1]
    code = (
        f"import socket\nstray = socket.create_connection(('127.0.0.1', {port}))\n"
        "got = snapshot.await_handover()\nprint(got.listener.getsockname()[1])"
    )
    message = json.dumps({"env": {"PORT": "1"}}).encode()
    announced, done = in_a_process(code, message, [listener.fileno()])
    print(announced, done.stderr[-400:])
    assert announced.startswith(snapshot.UNSAFE)
    assert b"sockets open before the checkpoint" in announced
    assert done.returncode == 0 and done.stdout.strip() == str(listener.getsockname()[1])
    server.close()
    listener.close()


def parsed(message: bytes, fds: list[int]) -> snapshot.Handover:
    return snapshot.parse_handover(message, fds)


@pytest.mark.parametrize(
    ("message", "why"),
    [
        (b"not json", "not JSON"),
        (b'{"env": ["PORT"]}', '"env"'),
        (b'{"env": {"BAD NAME": "x"}}', '"env"'),
        (b'{"env": {"PORT": 8080}}', '"env"'),
    ],
)
def test_a_bad_handover_is_refused_by_name_and_its_descriptor_closed(message, why) -> None:
    listener = bind_listener()
    duplicate = os.dup(listener.fileno())
    with pytest.raises(snapshot.HandoverError, match=why):
        parsed(message, [duplicate])
    with pytest.raises(OSError):  # the received descriptor was closed
        os.fstat(duplicate)
    listener.close()


def test_a_handover_without_a_listening_socket_is_refused() -> None:
    with pytest.raises(snapshot.HandoverError, match="one listening socket"):
        parsed(b'{"env": {}}', [])
    idle = socket.socket()
    with pytest.raises(snapshot.HandoverError, match="not listening"):
        parsed(b'{"env": {}}', [idle.detach()])


def test_a_missing_or_wrong_channel_is_named() -> None:
    with pytest.raises(snapshot.HandoverError, match="file descriptor number"):
        snapshot.await_handover({snapshot.SNAPSHOT_FD_ENV: "x"})
    with tempfile.TemporaryFile() as file, pytest.raises(snapshot.HandoverError, match="socket"):
        snapshot.await_handover({snapshot.SNAPSHOT_FD_ENV: str(os.dup(file.fileno()))})


def test_reseeding_gives_new_random_draws_and_temp_names() -> None:
    state = random.getstate()
    names = tempfile._get_candidate_names()
    snapshot.reseed()
    assert random.getstate() != state
    assert tempfile._get_candidate_names() is not names

"""A WSGI app for the snapshot tests (``tests.localknative.snapshot_probe:create_app``):
it imports the variant's framework, as a function does, and answers with what a restored
copy must not share with its siblings or the checkpoint."""

from __future__ import annotations

import json
import os
import random
import secrets
import tempfile
import time
import uuid
from urllib.parse import parse_qs

if os.environ.get("BINKS_PROBE_FRAMEWORK") == "crewai":
    import crewai  # noqa: F401
else:
    import agno.agent  # noqa: F401

if os.environ.get("BINKS_PROBE_STRAY"):  # a connection made during the imports
    import socket

    _host, _, _port = os.environ["BINKS_PROBE_STRAY"].rpartition(":")
    STRAY = socket.create_connection((_host, int(_port)))

#: drawn during the imports: the same in every copy of one checkpoint
IMPORTED_AT = time.time()
IMPORTED_RANDOM = random.random()


def create_app():
    """The probe app; built after the handover, as a function's app is."""
    configured_at = time.time()

    def app(environ, start_response):
        path = environ.get("PATH_INFO", "")
        if path == "/slow":  # a request in flight while the instance is told to stop
            time.sleep(float(parse_qs(environ.get("QUERY_STRING", ""))["s"][0]))
        body = json.dumps(
            {
                "imported_at": IMPORTED_AT,
                "imported_random": IMPORTED_RANDOM,
                "configured_at": configured_at,
                "now": time.time(),
                "random": random.random(),
                "uuid4": str(uuid.uuid4()),
                "secret": secrets.token_hex(16),
                "tempfile": next(tempfile._get_candidate_names()),
                "env": {
                    k: os.environ.get(k) for k in ("PORT", "K_SERVICE", "K_REVISION", "BINKS_PROBE")
                },
                "pid": os.getpid(),
                "sockets": sorted(
                    os.readlink(f"/proc/self/fd/{fd}")
                    for fd in os.listdir("/proc/self/fd")
                    if os.path.exists(f"/proc/self/fd/{fd}")
                    and os.readlink(f"/proc/self/fd/{fd}").startswith("socket:")
                ),
            }
        ).encode()
        start_response("200 OK", [("Content-Type", "application/json")])
        return [body]

    return app

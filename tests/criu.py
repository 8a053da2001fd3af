"""What the snapshot tests need: root, unshare and CRIU >= 4.2 (``make criu``)."""

from __future__ import annotations

import os

import pytest

from localknative import criu


def needs_snapshots() -> None:
    """Skip (or fail, where CI requires it: ``BINKS_REQUIRE_SNAPSHOT=1``) unless snapshot
    start can work here; the reason is ``criu.check``'s own message."""
    try:
        criu.check()
    except criu.SnapshotUnavailable as problem:
        if os.environ.get("BINKS_REQUIRE_SNAPSHOT") == "1":
            pytest.fail(f"BINKS_REQUIRE_SNAPSHOT=1 but {problem}")
        pytest.skip(str(problem))

"""``localknative.criu``: what a CRIU log's cause is, and what ``check`` says is missing."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from localknative import criu


def test_the_cause_is_the_first_error_that_is_not_the_harmless_rlimit_one(tmp_path: Path) -> None:
    log = tmp_path / "dump.log"
    cause = "Error (criu/cr-dump.c:1528): A session leader of 1(1) is outside of its pid namespace"
    log.write_text(
        "Error (criu/util.c:1534): rlimit: Can't setup RLIMIT_NOFILE for self: Not permitted\n"
        f"{cause}\nError (criu/cr-dump.c:1975): Dumping FAILED.\n"
    )
    said = criu.error_line(log)
    print(said)
    assert said == cause
    assert criu.error_line(tmp_path / "none.log") == f"no log at {tmp_path / 'none.log'}"


def test_check_names_make_criu_when_there_is_none(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BINKS_CRIU", "/nonexistent/criu")
    with pytest.raises(criu.SnapshotUnavailable) as missing:
        criu.check()
    print(missing.value)
    expected = "make criu" if os.geteuid() == 0 else "needs root"
    assert expected in str(missing.value)

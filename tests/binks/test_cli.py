"""The binks CLI: clear errors, and the demo that `make run` shows."""

from __future__ import annotations

import argparse
import re
import tempfile
from pathlib import Path

import pytest

from binks import cli
from localknative import command


def test_unknown_function_is_a_clear_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["serve", "poet", "agno"]) == 2
    assert "no function 'poet'" in capsys.readouterr().err


def test_unknown_variant_is_refused_by_argparse(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        cli.main(["serve", "code-reviewer", "langchain"])
    assert "invalid choice" in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["--port", "0", "--host", "::1", "--domain", "x.test", "--window", "2", "--model", "none"],
    ],
)
def test_binks_up_is_the_platforms_own_command_line(argv: list[str]) -> None:
    up = vars(cli.parser().parse_args(["up", *argv]))
    assert up.pop("handler") is cli._up and up.pop("command") == "up"
    platform = command.add_arguments(argparse.ArgumentParser()).parse_args(argv)
    assert up == vars(platform)


@pytest.mark.process
def test_demo_reviews_the_sample_repository_through_the_broker(
    capsys: pytest.CaptureFixture[str], closed_port
) -> None:
    # its port is taken (here: held by this test, as by another `binks up`): the demo
    # starts its own platform on a free port, never publishing into another one
    taken = closed_port.getsockname()[1]
    before = set(Path(tempfile.gettempdir()).glob("binks-demo-*"))
    assert cli.main(["demo", "--scripted", "--exit", "--port", str(taken)]) == 0
    out = capsys.readouterr().out
    assert set(Path(tempfile.gettempdir()).glob("binks-demo-*")) <= before  # cleaned up
    assert f"127.0.0.1:{taken}: Address already in use" in out and "takes a free port" in out
    assert "(started by this demo)" in out and f":{taken} (started" not in out
    assert re.search(r"==> dashboard: http://127\.0\.0\.1:\d+/_binks/dashboard\?token=\w+", out)
    # the chains as they happen, before the reports
    hops = [line.split() for line in out.splitlines() if "dev.binks.report.published" in line]
    # each reporter's hop: service, cold start or warm, seconds since asked, event, outcome
    assert sorted(hop[1] for hop in hops) == ["reporter-agno", "reporter-crewai"], hops
    assert all(hop[2] in ("cold", "warm") and hop[-1] == "ok" for hop in hops), hops
    assert "SCRIPTED Ollama-API server" in out
    assert out.count("# Report: Review the sample repository") == 2
    assert out.count("Scripted summary: five bugs found") == 2
    assert "inventory.py:15" in out
    assert out.count("| Repository check (Job) | completed |") == 2  # a local Job, per variant
    for function in ("orchestrator", "code-reviewer", "cluster-operator", "reporter"):
        row = next(line for line in out.splitlines() if line.startswith(function))
        assert row.count(" s") == 4, row  # cold start and event → reply, both variants


def test_the_readme_points_only_at_what_a_clone_has() -> None:
    """A reader has the clone, not the development machines' ``../shared`` folder."""
    text = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    assert "../shared" not in text

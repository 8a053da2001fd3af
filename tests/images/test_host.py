"""envs/images/host.py: the tools named when they cannot be installed, and podman's
settings written only where podman has none of its own."""

from __future__ import annotations

from pathlib import Path

import pytest

from envs.images import host
from envs.images.steps import StepFailed


def test_podman_settings_are_written_only_where_podman_has_none(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import resource

    conf = tmp_path / "containers.conf"
    monkeypatch.setattr(host, "CONF", conf)
    monkeypatch.setattr(host, "is_root", lambda: True)
    monkeypatch.setattr(host, "hybrid_cgroups", lambda: True)
    monkeypatch.setattr(host, "podman_settings_of_its_own", lambda: [])
    limits = {resource.RLIMIT_NOFILE: (1024, 20000), resource.RLIMIT_NPROC: (512, 96362)}
    monkeypatch.setattr(resource, "getrlimit", lambda which: limits[which])
    host.configure_podman()
    text = conf.read_text()
    assert 'default_ulimits = ["nofile=20000:20000", "nproc=4096:4096"]' in text
    assert 'runtime = "runc"' in text and host.CONF_MARK in text
    # an administrator's file is left alone, and the message says what this machine needs
    conf.write_text("[engine]\nruntime = 'crun'\n")
    monkeypatch.setattr(host, "podman_settings_of_its_own", lambda: [str(conf)])
    host.configure_podman()
    assert conf.read_text() == "[engine]\nruntime = 'crun'\n"
    assert "settings of its own" in capsys.readouterr().out
    # a machine that needs nothing gets nothing
    conf.unlink()
    monkeypatch.setattr(host, "podman_settings_of_its_own", lambda: [])
    monkeypatch.setattr(host, "hybrid_cgroups", lambda: False)
    limits[resource.RLIMIT_NOFILE] = (1024, 1048576)
    host.configure_podman()
    assert not conf.exists()


def test_a_file_of_ours_is_not_podmans_own(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    conf = tmp_path / "containers.conf"
    monkeypatch.setattr(host, "CONF", conf)
    monkeypatch.setattr(host, "is_root", lambda: True)
    monkeypatch.delenv("CONTAINERS_CONF", raising=False)
    conf.write_text(f"{host.CONF_MARK}, because ...\n")
    assert str(conf) not in host.podman_settings_of_its_own()
    conf.write_text("[engine]\n")
    assert str(conf) in host.podman_settings_of_its_own()


def test_missing_tools_are_named_when_they_cannot_be_installed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(host.shutil, "which", lambda name: None)
    monkeypatch.setattr(host, "is_root", lambda: False)
    with pytest.raises(StepFailed) as failure:
        host.ensure_tools(["amd64", "arm64"] if host.HOST_ARCH == "amd64" else ["arm64"])
    message = str(failure.value)
    for package in ("podman", "buildah", "runc", "mmdebstrap"):
        assert package in message
    if host.HOST_ARCH == "amd64":
        assert "qemu-user-static" in message and "binfmt-support" in message

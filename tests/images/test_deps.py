"""envs/images/deps.py: the dependencies installed for the base's platform and their
scripts pointed at the image's python."""

from __future__ import annotations

from pathlib import Path

from envs.images import deps


def test_dependencies_are_installed_for_the_bases_glibc() -> None:
    probe = {"libc": ["glibc", "2.36"], "version": "3.11.2"}
    assert deps.platform_tag("amd64", probe) == "x86_64-manylinux_2_36"
    assert deps.platform_tag("arm64", probe) == "aarch64-manylinux_2_36"


def test_the_install_key_follows_the_lock_the_python_and_the_platform() -> None:
    probe = {"libc": ["glibc", "2.36"], "version": "3.11.2"}
    key = deps.deps_key("agno", probe, "x86_64-manylinux_2_36")
    assert key == deps.deps_key("agno", probe, "x86_64-manylinux_2_36")
    assert key != deps.deps_key("crewai", probe, "x86_64-manylinux_2_36")
    assert key != deps.deps_key("agno", probe, "aarch64-manylinux_2_36")
    assert key != deps.deps_key("agno", {**probe, "version": "3.11.9"}, "x86_64-manylinux_2_36")


def test_scripts_are_pointed_at_the_images_python(tmp_path: Path) -> None:
    plain = tmp_path / "flask"
    plain.write_text("#!/work/main/.venv/bin/python\nimport sys\nprint(sys.argv)\n")
    long = tmp_path / "agno"
    long.write_text("#!/bin/sh\n'''exec' \"/a b/python\" \"$0\" \"$@\"\n' '''\nimport sys\n")
    binary = tmp_path / "uv"
    binary.write_bytes(b"\x7fELF\x02\x01python")
    shell = tmp_path / "tool.sh"
    shell.write_text("#!/bin/sh\necho hi\n")
    for script in (plain, long, binary, shell):
        deps.fix_shebang(script)
    assert plain.read_text() == "#!/usr/bin/python3\nimport sys\nprint(sys.argv)\n"
    assert long.read_text() == "#!/usr/bin/python3\nimport sys\n"
    assert binary.read_bytes() == b"\x7fELF\x02\x01python"
    assert shell.read_text() == "#!/bin/sh\necho hi\n"

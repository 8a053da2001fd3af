"""envs/images/base.py: the base image's recipe and the builds that start from it."""

from __future__ import annotations

import pytest

from envs.images import base


def test_the_base_recipe_is_the_small_one_and_its_hash_follows_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    recipe = base.base_recipe("amd64")
    assert "--variant=essential" in recipe and "--arch=amd64" in recipe
    include = next(a for a in recipe if a.startswith("--include="))
    assert {"python3-minimal", "libpython3.11-stdlib", "libstdc++6"} <= set(
        include.removeprefix("--include=").split(",")
    )
    assert base.recipe_hash("amd64") == base.recipe_hash("amd64") != base.recipe_hash("arm64")
    before = base.recipe_hash("amd64")
    monkeypatch.setattr(base, "BASE_PACKAGES", (*base.BASE_PACKAGES, "python3-venv"))
    assert base.recipe_hash("amd64") != before


def test_builds_start_from_the_local_base_offline() -> None:
    args = base.build_args("arm64")
    assert "--platform=linux/arm64" in args and "--pull=never" in args
    assert args[args.index("-f") + 1] == str(base.CONTAINERFILE)
    assert args[-1] == "BASE_IMAGE=localhost/binks-base:bookworm-arm64"

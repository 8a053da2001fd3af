"""bench.footprint's image sizes: read from ``make image-sizes``'s file, stale where the
image built here since is another, "not measured" where the file does not list it."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from bench import footprint
from localknative.containers import host_arch
from tests.podman import image, needs

SIZE = {
    "uncompressed": 300,
    "gzip": 80,
    "zstd": 70,
    "layers": {"base": 100, "dependencies": 199, "code": 1},
    "layers_gzip": {"base": 38, "dependencies": 41, "code": 1},
    "layers_zstd": {"base": 32, "dependencies": 37, "code": 1},
    "podman_size": 301,  # not kept: the same as uncompressed, as podman rounds it
}


def _sizes(tmp_path: Path, image_name: str, image_id: str) -> Path:
    path = tmp_path / "sizes.json"
    arches = {arch: SIZE | {"id": image_id} for arch in ("amd64", "arm64")}
    path.write_text(json.dumps({image_name: arches}))
    return path


def test_an_image_the_file_does_not_list_is_not_measured(tmp_path: Path) -> None:
    sizes = footprint.image_sizes({"f-agno": "r/f-agno:1"}, tmp_path / "absent.json")
    print(sizes)
    assert sizes == {
        "f-agno": {
            "image": "r/f-agno:1",
            "measured": False,
            "reason": "not measured: run make image-sizes",
        }
    }


def test_sizes_are_kept_per_arch_without_podman_to_compare(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(footprint.shutil, "which", lambda _: None)
    sizes = footprint.image_sizes({"f-agno": "r/f-agno:1"}, _sizes(tmp_path, "r/f-agno:1", "ab"))
    entry = sizes["f-agno"]
    print(entry)
    assert set(entry["arches"]) == {"amd64", "arm64"}
    assert entry["arches"]["arm64"]["layers_gzip"] == SIZE["layers_gzip"]
    assert "podman_size" not in entry["arches"]["amd64"]
    assert entry["stale"] is None and entry["stale_reason"] == "no podman here to compare"


@pytest.mark.parametrize("same", [True, False])
def test_a_rebuilt_image_makes_its_sizes_stale(tmp_path: Path, same: bool) -> None:
    name = image("code-reviewer-agno")
    tagged = f"{name}-{host_arch()}"
    needs([tagged])
    here = subprocess.run(
        ["podman", "image", "inspect", "--format", "{{.Id}}", tagged],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    recorded = here if same else "f" * 64
    entry = footprint.image_sizes({"s": name}, _sizes(tmp_path, name, recorded))["s"]
    print(
        f"here {here[:12]}, recorded {recorded[:12]}:",
        entry.get("stale"),
        entry.get("stale_reason"),
    )
    assert entry["host_arch"] == host_arch()
    assert entry["stale"] is (not same)
    if not same:
        assert "run make image-sizes" in entry["stale_reason"]


def test_the_environment_footprint_no_longer_guesses_an_image() -> None:
    entry = footprint.footprint("agno", compress=False)
    assert "image" not in entry and entry["packages"] > 0

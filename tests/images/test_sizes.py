"""envs/images/sizes.py, on an OCI layout written here: the layers counted per part
(base, dependencies, code), compressed and not, and the blobs no image refers to pruned."""

from __future__ import annotations

import gzip
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from envs.images import sizes
from envs.images.images import Image
from envs.images.steps import StepFailed

IMAGE = Image("r.example/code-reviewer-agno", "1", "code_reviewer", "agno")


def _blob(layout: Path, data: bytes) -> str:
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    path = sizes.blob(layout, digest)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return digest


def _layout(
    layout: Path, ref: str, contents: list[bytes]
) -> tuple[list[str], list[dict[str, Any]]]:
    """An OCI layout holding one image ``ref`` of gzip layers of ``contents``: their diff ids
    and the manifest's layers."""
    layers = []
    for data in contents:
        packed = gzip.compress(data)
        layers.append(
            {
                "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                "digest": _blob(layout, packed),
                "size": len(packed),
            }
        )
    config = _blob(layout, b"{}")
    manifest = json.dumps({"config": {"digest": config, "size": 2}, "layers": layers}).encode()
    entry = {
        "digest": _blob(layout, manifest),
        "size": len(manifest),
        "annotations": {"org.opencontainers.image.ref.name": ref},
    }
    (layout / "index.json").write_text(json.dumps({"manifests": [entry]}))
    return ["sha256:" + hashlib.sha256(data).hexdigest() for data in contents], layers


def test_an_image_is_counted_per_part_compressed_and_not(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    contents = [b"b" * 5000, b"d" * 3000, b"c" * 100]
    diff_ids, _ = _layout(tmp_path, "code-reviewer-agno-amd64", contents)
    pushed: list[tuple[str, ...]] = []
    monkeypatch.setattr(sizes, "podman", lambda *args, what, **kw: pushed.append(args))
    inspected = {"localhost/binks-deps:agno-amd64": {"RootFS": {"Layers": diff_ids[:2]}}}
    monkeypatch.setattr(sizes, "inspect", lambda name: inspected[name])
    parts = sizes.layer_parts(IMAGE, "amd64", diff_ids, diff_ids[:1], "what")
    assert parts == ["base", "dependencies", "code"]
    known: dict[str, int] = {}
    measured = sizes.measure_layout(IMAGE, "amd64", tmp_path, "gzip", parts, diff_ids, known, "w")
    assert "--compression-format=gzip" in pushed[0]
    assert measured["layers"] == {"base": 5000, "dependencies": 3000, "code": 100}
    assert measured["uncompressed"] == 8100 and len(known) == 3
    compressed = measured["layers_gzip"]
    assert sum(compressed.values()) < 8100
    manifest_size = json.loads((tmp_path / "index.json").read_text())["manifests"][0]["size"]
    assert measured["gzip"] == sum(compressed.values()) + 2 + manifest_size
    with pytest.raises(StepFailed, match="do not start with"):
        sizes.layer_parts(IMAGE, "amd64", diff_ids[::-1], diff_ids[:1], "what")


def test_a_layer_is_gunzipped_once_and_only_gzip_is_read(tmp_path: Path) -> None:
    (diff_id,), (layer,) = _layout(tmp_path, "worker-amd64", [b"x" * 10])
    known = {diff_id: 99}
    assert sizes.uncompressed_size(tmp_path, layer, known, diff_id) == 99  # known: not read
    assert sizes.uncompressed_size(tmp_path, layer, {}, diff_id) == 10
    zstd = {**layer, "mediaType": "application/vnd.oci.image.layer.v1.tar+zstd"}
    with pytest.raises(StepFailed, match="not gzip"):
        sizes.uncompressed_size(tmp_path, zstd, {}, diff_id)


def test_blobs_no_manifest_refers_to_are_pruned(tmp_path: Path) -> None:
    _layout(tmp_path, "worker-amd64", [b"kept"])
    before = set((tmp_path / "blobs").glob("*/*"))
    stale = sizes.blob(tmp_path, _blob(tmp_path, b"an image rebuilt since"))
    sizes.prune_layout(tmp_path)
    assert not stale.exists()
    assert set((tmp_path / "blobs").glob("*/*")) == before


def test_the_table_is_in_mib(capsys: pytest.CaptureFixture[str]) -> None:
    layers = {"base": 2**20, "dependencies": 2 * 2**20, "code": 2**19}
    entry = {"uncompressed": 3.5 * 2**20, "gzip": 2**20, "zstd": 2**19, "layers": layers}
    sizes.print_sizes({"r/worker:1": {"amd64": entry}})
    row = capsys.readouterr().out.splitlines()[-1].split()
    assert row == ["r/worker:1", "amd64", "3.5", "1.0", "2.0", "0.5", "1.0", "0.5"]

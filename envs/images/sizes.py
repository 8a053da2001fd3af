"""``sizes``: per image and architecture the uncompressed size, the size of the compressed
layers with gzip and with zstd (as podman writes them into an OCI layout), and the part of
each that is the base, the dependencies and our code; into ``.cache/images/sizes.json``
and printed as a table."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from envs.images.base import base_name
from envs.images.deps import deps_name
from envs.images.images import Image
from envs.images.steps import (
    CACHE,
    REPO,
    Step,
    StepFailed,
    exists,
    inspect,
    podman,
    read_json,
    say,
    update_json,
)

PARTS = ("base", "dependencies", "code")
COMPRESSIONS = ("gzip", "zstd")


def measure_sizes(images: list[Image], arches: list[str]) -> None:
    """Measure ``images`` on ``arches`` (all built before), merge them into sizes.json and
    print them. An image measured before and not rebuilt since is not measured again."""
    layouts = {c: CACHE / f"oci-{c}" for c in COMPRESSIONS}
    known_path = CACHE / "layer-sizes.json"
    known = read_json(known_path)  # uncompressed size per layer (diff id): gunzipped once
    # an image measured before and not rebuilt since (same image id) is not pushed again
    previous = read_json(CACHE / "sizes.json")
    sizes: dict[str, dict[str, Any]] = {}
    missing = [f"{i.per_arch(a)}" for i in images for a in arches if not exists(i.per_arch(a))]
    if missing:
        raise StepFailed("sizes", "not built (make images): " + ", ".join(missing))
    say(
        f"==> sizes of {len(images)} images x {' + '.join(arches)} "
        f"(OCI layouts in {CACHE.relative_to(REPO)}/oci-*)"
    )
    for arch in arches:
        base_layers = inspect(base_name(arch))["RootFS"]["Layers"]
        for image in images:
            before = previous.get(image.name, {}).get(arch, {})
            entry = measure_image(image, arch, base_layers, layouts, known, before)
            sizes.setdefault(image.name, {})[arch] = entry
    for layout in layouts.values():
        prune_layout(layout)
    known_path.write_text(json.dumps(known, indent=1) + "\n")
    update_json(CACHE / "sizes.json", sizes)
    print_sizes(sizes)
    say(f"==> {(CACHE / 'sizes.json').relative_to(REPO)}")


def measure_image(
    image: Image,
    arch: str,
    base_layers: list[str],
    layouts: dict[str, Path],
    known: dict[str, int],
    before: dict[str, Any],
) -> dict[str, Any]:
    """The sizes of ``image`` on ``arch``: ``before`` when it was measured as this very image
    (same id), otherwise pushed into each OCI layout and counted."""
    what = f"{image.short} {arch}: sizes"
    config = inspect(image.per_arch(arch))
    if before.get("id") == config["Id"]:
        say(f"    {what + ': cached':<48}           (image {config['Id'][:12]} measured before)")
        return before
    with Step(what):
        diff_ids = config["RootFS"]["Layers"]
        parts = layer_parts(image, arch, diff_ids, base_layers, what)
        entry: dict[str, Any] = {"layers": {}, "layers_gzip": {}, "layers_zstd": {}}
        for compression, layout in layouts.items():
            layout.mkdir(parents=True, exist_ok=True)
            entry.update(
                measure_layout(image, arch, layout, compression, parts, diff_ids, known, what)
            )
        entry["id"] = config["Id"]
        entry["podman_size"] = config.get("Size")
        entry["digest"] = config.get("Digest")
    return entry


def layer_parts(
    image: Image, arch: str, diff_ids: list[str], base_layers: list[str], what: str
) -> list[str]:
    """What each of the image's layers is: ``base``, ``dependencies`` or ``code``."""
    deps_layers = (
        inspect(deps_name(image.variant, arch))["RootFS"]["Layers"]
        if image.variant
        else base_layers
    )
    if diff_ids[: len(base_layers)] != base_layers or diff_ids[: len(deps_layers)] != deps_layers:
        raise StepFailed(
            what, "its layers do not start with the base's and the dependencies' (rebuild)"
        )
    return (
        ["base"] * len(base_layers)
        + ["dependencies"] * (len(deps_layers) - len(base_layers))
        + ["code"] * (len(diff_ids) - len(deps_layers))
    )


def measure_layout(
    image: Image,
    arch: str,
    layout: Path,
    compression: str,
    parts: list[str],
    diff_ids: list[str],
    known: dict[str, int],
    what: str,
) -> dict[str, Any]:
    """The image pushed into ``layout`` with ``compression``: its layers per part and what a
    registry would send; with gzip also the uncompressed sizes (``layers``, ``uncompressed``)."""
    ref = f"{image.short}-{arch}"
    manifest = oci_layout_push(image.per_arch(arch), layout, ref, compression, what)
    layers = manifest["layers"]
    if len(layers) != len(diff_ids):
        raise StepFailed(what, f"{len(layers)} layers pushed, {len(diff_ids)} built")
    per_part = sum_parts(parts, (layer["size"] for layer in layers))
    measured: dict[str, Any] = {
        f"layers_{compression}": per_part,
        # what a registry would send: the layers, the config and the manifest
        compression: sum(per_part.values()) + manifest["config"]["size"] + manifest["_size"],
    }
    if compression == "gzip":
        raw = sum_parts(
            parts,
            (
                uncompressed_size(layout, layer, known, diff_id)
                for layer, diff_id in zip(layers, diff_ids, strict=True)
            ),
        )
        measured["layers"] = raw
        measured["uncompressed"] = sum(raw.values())
    return measured


def sum_parts(parts: list[str], sizes: Iterable[int]) -> dict[str, int]:
    """The ``sizes`` of the layers added up per part (``parts``: each layer's part)."""
    total = dict.fromkeys(PARTS, 0)
    for part, size in zip(parts, sizes, strict=True):
        total[part] += size
    return total


def oci_layout_push(
    image: str, layout: Path, ref: str, compression: str, what: str
) -> dict[str, Any]:
    """Push ``image`` into the OCI layout ``layout`` as ``ref``, with ``compression``; its
    manifest. Layers already in the layout are reused, not compressed again."""
    podman(
        "push",
        "--remove-signatures",
        f"--compression-format={compression}",
        image,
        f"oci:{layout}:{ref}",
        what=what,
        timeout=1800,
    )
    index = json.loads((layout / "index.json").read_text())
    for entry in index.get("manifests", []):
        if entry.get("annotations", {}).get("org.opencontainers.image.ref.name") == ref:
            manifest = json.loads(blob(layout, entry["digest"]).read_text())
            manifest["_size"] = entry["size"]
            return manifest
    raise StepFailed(what, f"{ref} is not in {layout}/index.json")


def blob(layout: Path, digest: str) -> Path:
    """The file of the blob ``digest`` (``sha256:...``) in an OCI layout."""
    algorithm, _, hexdigest = digest.partition(":")
    return layout / "blobs" / algorithm / hexdigest


def prune_layout(layout: Path) -> None:
    """Remove the blobs no manifest of the layout refers to (images rebuilt since)."""
    keep = set()
    index = json.loads((layout / "index.json").read_text())
    for entry in index.get("manifests", []):
        keep.add(entry["digest"])
        manifest = json.loads(blob(layout, entry["digest"]).read_text())
        keep.add(manifest["config"]["digest"])
        keep.update(layer["digest"] for layer in manifest["layers"])
    for path in (layout / "blobs").glob("*/*"):
        if f"{path.parent.name}:{path.name}" not in keep:
            path.unlink()


def uncompressed_size(
    layout: Path, layer: dict[str, Any], known: dict[str, int], diff_id: str
) -> int:
    """The uncompressed size of a gzip ``layer``, counted once per ``diff_id`` (``known``)."""
    if diff_id not in known:
        if not layer["mediaType"].endswith("+gzip"):
            raise StepFailed("sizes", f"{layer['digest']} is {layer['mediaType']}, not gzip")
        total = 0
        with gzip.open(blob(layout, layer["digest"]), "rb") as stream:
            while chunk := stream.read(1 << 20):
                total += len(chunk)
        known[diff_id] = total
    return known[diff_id]


def print_sizes(sizes: dict[str, dict[str, Any]]) -> None:
    """``sizes`` (image → arch → entry) as a table in MiB."""

    def mib(n: int) -> str:
        return f"{n / 2**20:7.1f}"

    say("    MiB: uncompressed (base + dependencies + code), compressed layers gzip / zstd")
    say(
        f"    {'image':<50} {'arch':<6} {'total':>7} {'base':>7} {'deps':>7} {'code':>7} "
        f"{'gzip':>7} {'zstd':>7}"
    )
    for name, per_arch in sizes.items():
        for arch, e in per_arch.items():
            layers = e["layers"]
            say(
                f"    {name:<50} {arch:<6} {mib(e['uncompressed'])} {mib(layers['base'])} "
                f"{mib(layers['dependencies'])} {mib(layers['code'])} "
                f"{mib(e['gzip'])} {mib(e['zstd'])}"
            )

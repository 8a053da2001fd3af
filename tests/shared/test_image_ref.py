"""Image references: parsed as distribution/reference reads them; entries compare exactly."""

from __future__ import annotations

import pytest

from shared.image_ref import MAX_IMAGE, ImageRef

WORKER = "ghcr.io/binks-functions/worker"
DIGEST = "sha256:" + "a" * 64


@pytest.mark.parametrize(
    ("text", "parts"),
    [
        (WORKER, (WORKER, None, None)),
        (f"{WORKER}:0.1.0", (WORKER, "0.1.0", None)),
        (f"{WORKER}@{DIGEST}", (WORKER, None, DIGEST)),
        ("localhost:5000/a/b:t", ("localhost:5000/a/b", "t", None)),
    ],
)
def test_references_parse_into_their_parts(text: str, parts) -> None:
    ref = ImageRef.parse(text)
    assert ref is not None and (ref.repository, ref.tag, ref.digest) == parts, text


@pytest.mark.parametrize(
    "text",
    [
        f"{WORKER}:a:b",
        "Ghcr.io/x/Worker",
        f"{WORKER}/../x",
        f"{WORKER}\n",
        "",
        "x" * (MAX_IMAGE + 1),
    ],
)
def test_what_is_not_a_reference_parses_to_none(text: str) -> None:
    assert ImageRef.parse(text) is None, repr(text[:60])


@pytest.mark.parametrize(
    ("entry", "image", "allowed"),
    [
        (WORKER, f"{WORKER}:0.1.0", True),
        (WORKER, f"{WORKER}@{DIGEST}", True),
        (WORKER, f"{WORKER}-evil", False),
        (WORKER, f"{WORKER}z:0.1.0", False),
        (f"{WORKER}:0.1.0", f"{WORKER}:0.2.0", False),
        (f"{WORKER}:0.1.0", f"{WORKER}:0.1.0@{DIGEST}", False),
        (f"{WORKER}@{DIGEST}", f"{WORKER}@{DIGEST}", True),
    ],
)
def test_an_entry_admits_its_repository_exactly(entry: str, image: str, allowed: bool) -> None:
    admitted = ImageRef.parse(entry).allows(ImageRef.parse(image))
    assert admitted is allowed, (entry, image)

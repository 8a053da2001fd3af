"""Container image references (``registry/path/name[:tag][@sha256:digest]``), parsed the
way distribution/reference reads them, so that an allow-list compares repositories
exactly: ``ghcr.io/binks-functions/worker`` does not admit ``.../worker-evil``.

Standard library only: the cluster operator and the local platform both use it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# An image reference, after distribution/reference: a lowercase repository (an optional
# registry host[:port], then path components), an optional tag, an optional sha256 digest.
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_HOST = r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*(?::[0-9]{1,5})?"
_IMAGE = re.compile(
    rf"(?P<repository>(?:{_HOST}/)?{_COMPONENT}(?:/{_COMPONENT})*)"
    r"(?::(?P<tag>[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}))?"
    r"(?:@(?P<digest>sha256:[0-9a-f]{64}))?"
)
#: The longest reference taken (longer ones are refused before matching).
MAX_IMAGE = 512


@dataclass(frozen=True)
class ImageRef:
    """An image reference's parts, as written (no ``docker.io/library/`` filled in)."""

    repository: str
    tag: str | None
    digest: str | None

    @classmethod
    def parse(cls, text: str) -> ImageRef | None:
        """The parts of ``text``, or None when it is not an image reference."""
        match = _IMAGE.fullmatch(text) if len(text) <= MAX_IMAGE else None
        return cls(match["repository"], match["tag"], match["digest"]) if match else None

    def allows(self, image: ImageRef) -> bool:
        """Whether this allow-list entry admits ``image``: the same repository, exactly;
        a tag or digest in the entry pins it. A digest overrides a tag when pulling, so
        an entry pinned to a tag admits no digest."""
        if image.repository != self.repository:
            return False
        if self.digest is not None:
            return image.digest == self.digest
        return self.tag is None or (image.tag == self.tag and image.digest is None)

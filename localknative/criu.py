"""CRIU for snapshot start: where ``make criu`` puts it, whether it can work on this
machine (``check``: a message naming what is missing), and the first error of its log.

CRIU 4.2.1 is built by ``make criu`` (``envs/criu/build.sh``) from Debian's source
package: bookworm's 3.17.1 fails on kernels that map ``[vvar_vclock]``, and 4.1.1 cannot
dump a TCP socket on kernels >= 6.16 (fixed upstream in 4.2).
"""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
from pathlib import Path

from localknative.paths import REPO

#: Where ``make criu`` puts the CRIU it builds (``BINKS_CRIU`` names another).
CRIU = REPO / ".tools" / "criu" / "criu"


class SnapshotUnavailable(RuntimeError):
    """Snapshot start cannot work on this machine; the message says why and what to do."""


def criu_path() -> Path:
    """The CRIU binary snapshot start uses."""
    return Path(os.environ.get("BINKS_CRIU") or CRIU)


def check(criu: Path | None = None) -> str:
    """CRIU's version line when snapshot start can work here; SnapshotUnavailable
    naming the first thing missing otherwise."""
    criu = criu or criu_path()
    if platform.system() != "Linux":
        raise SnapshotUnavailable("snapshot start needs Linux (CRIU checkpoints Linux processes)")
    if os.geteuid() != 0:
        raise SnapshotUnavailable("snapshot start needs root: CRIU dumps and restores processes")
    if shutil.which("unshare") is None:
        raise SnapshotUnavailable("snapshot start needs unshare (Debian's util-linux)")
    if not os.access(criu, os.X_OK):
        raise SnapshotUnavailable(
            f"CRIU is not built here ({criu}): run `make criu` (CRIU 4.2.1 from Debian's "
            "source package, about a minute), or set BINKS_CRIU to a CRIU >= 4.2"
        )
    checked = subprocess.run([str(criu), "check"], capture_output=True, text=True, timeout=60)
    if checked.returncode != 0:
        said = (checked.stderr or checked.stdout).strip().splitlines()
        reason = next((line for line in said if "rror" in line), said[-1] if said else "")
        raise SnapshotUnavailable(f"`{criu} check` says this kernel cannot: {reason}")
    version = subprocess.run([str(criu), "--version"], capture_output=True, text=True)
    return version.stdout.strip().splitlines()[0]


def error_line(log: Path) -> str:
    """CRIU's first error from its log (the cause; later ones follow from it)."""
    try:
        lines = log.read_text(errors="replace").splitlines()
    except OSError:
        return f"no log at {log}"
    # the rlimit line is CRIU failing to raise its own open-file limit: harmless
    errors = [line for line in lines if "Error (" in line and "FAILED" not in line]
    errors = [line for line in errors if "RLIMIT_NOFILE" not in line] or errors
    return (errors[0] if errors else (lines[-1] if lines else "empty log")).strip()

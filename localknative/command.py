"""The platform's command line: ``python -m localknative [OPTIONS]``. ``binks up`` has the
same options (:func:`add_arguments`) and runs the same code (:func:`run`).

Cheap to import (the CLI builds its parser from it); the server loads in :func:`run`.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from localknative.paths import MANIFESTS, STATE
from localknative.serving import RUNTIMES
from localknative.snapshots import STARTS

if TYPE_CHECKING:
    from modelserver.selection import ModelServer

DEFAULT_PORT = 8470  # functions take ephemeral ports (32768+) locally and 8080 in containers
#: What a start may fail with; each message names the problem (a manifest, a port, a model).
PROBLEMS = (ValueError, FileNotFoundError, RuntimeError, TimeoutError, LookupError)


def add_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Add the platform's options to ``parser`` (and return it)."""
    parser.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help=f"platform port (default {DEFAULT_PORT})"
    )
    parser.add_argument(
        "--host",
        default="127.0.0.1",
        help="bind address (default 127.0.0.1); anything wider prints a warning",
    )
    parser.add_argument(
        "--domain",
        action="append",
        default=[],
        help="also answer under this domain (Host DOMAIN, SERVICE.NAMESPACE.DOMAIN); "
        "localhost and IP addresses always work, any other name is refused",
    )
    parser.add_argument("--manifests", default=str(MANIFESTS))
    parser.add_argument("--state", default=str(STATE), help="event store and logs")
    parser.add_argument(
        "--window",
        type=float,
        default=None,
        help="scale to zero after SECONDS idle (default: each Service's window, 60s)",
    )
    parser.add_argument(
        "--runtime",
        choices=RUNTIMES,
        default="process",
        help="process: each instance is the variant's Python on this checkout (default); "
        "container: each instance is the Service's image under podman, with its memory "
        "and CPU limits (make images first)",
    )
    parser.add_argument(
        "--start",
        choices=STARTS,
        default="cold",
        help="cold: every instance imports its framework (default); snapshot: the first "
        "instance of each Service is checkpointed after its imports and later ones are "
        "restored from it with CRIU (--runtime process, root, `make criu` first)",
    )
    parser.add_argument(
        "--cgroup-parent",
        default=None,
        metavar="CGROUP",
        help="with --runtime container: the containers' parent cgroup (e.g. one with a "
        "node's memory budget, as the bench's Pi profile makes); default: podman's",
    )
    parser.add_argument(
        "--model",
        choices=("auto", "none"),
        default="auto",
        help="auto: OLLAMA_HOST if it answers, else start the embedded model server; "
        "none: pass OLLAMA_HOST/BINKS_MODEL through, start nothing",
    )
    return parser


def model_env(choice: str) -> tuple[dict[str, str], ModelServer | None]:
    """The functions' model settings for ``--model`` and what to stop afterwards (the
    embedded server when it was started for them; None when nothing was)."""
    from modelserver.selection import passed_through, select

    if choice == "none":  # use what the environment says, start nothing
        return passed_through(), None
    chosen = select()
    env = chosen.functions_env()
    if chosen.embedded:
        model = env["BINKS_MODEL"]
        print(f"==> model: embedded model server at {chosen.url} ({model})", flush=True)
    else:
        print(f"==> model: Ollama at {chosen.url}", flush=True)
    return env, chosen


def run(args: argparse.Namespace) -> int:
    """Choose the model, then serve the manifests until SIGTERM/Ctrl-C; the exit status."""
    from localknative import up

    if args.start == "snapshot":
        if args.runtime != "process":
            raise ValueError("--start snapshot works with --runtime process only")
        from localknative import criu

        print(f"==> snapshot start: CRIU {criu.check()}", flush=True)
    env, model = model_env(args.model)
    try:
        return up.main(
            args.port,
            Path(args.manifests),
            Path(args.state),
            args.window,
            env,
            args.host,
            tuple(args.domain),
            args.runtime,
            args.cgroup_parent,
            args.start,
        )
    finally:
        if model is not None:
            model.stop()


def main(argv: list[str] | None = None) -> int:
    """``python -m localknative``: parse, run; a failed start is one line and status 2."""
    parser = argparse.ArgumentParser(
        prog="python -m localknative",
        description="the local Knative stand-in, from knative/ manifests (what `binks up` runs)",
    )
    args = add_arguments(parser).parse_args(argv)
    try:
        return run(args)
    except PROBLEMS as problem:
        print(f"localknative: error: {problem}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130

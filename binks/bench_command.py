"""``binks bench``: which measurement to run (``bench/``), and its options.

Cheap to import (the CLI builds its parser from it); the bench modules load in
:func:`run`.
"""

from __future__ import annotations

import argparse
from pathlib import Path

#: The functions of the team, by their Knative service name without the variant.
FUNCTIONS = ("code-reviewer", "orchestrator", "cluster-operator", "reporter")


def add_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Add ``binks bench``'s options to ``parser`` (and return it)."""
    parser.add_argument(
        "kind",
        nargs="?",
        choices=("functions", "startup", "snapshot", "model", "broker", "load"),
        default="functions",
        help="functions: every figure per function x variant, interleaved, into "
        "bench/results/ + latest.md + plots + the README table (default); "
        "startup: spawn-to-ready and idle RSS of one function only; "
        "snapshot: cold start vs restore from a CRIU checkpoint, per function (make criu); "
        "model: tokens/s and time to first token, our Ollama API vs the binding; "
        "broker: events/s and added latency to a no-op subscriber; "
        "load: a bounded burst through the broker, nothing lost",
    )
    parser.add_argument(
        "--functions", nargs="+", choices=FUNCTIONS, help="which functions (default: all four)"
    )
    parser.add_argument("--function", default="code-reviewer", help="for `startup`")
    parser.add_argument(
        "--runs", type=int, help="runs per function x variant (default 3; startup: 5)"
    )
    parser.add_argument("--warm-events", type=int, default=10, help="warm events per run")
    parser.add_argument(
        "--model-runs", type=int, default=1, help="code-review tasks with the embedded model"
    )
    parser.add_argument("--profile", choices=("pi4",), help="pi4: instances in a 4 GiB node")
    parser.add_argument(
        "--runtime",
        choices=("process", "container"),
        default="process",
        help="process: each function as the variant's Python (default); container: "
        "also in its image under podman, beside the process in the same run (make images)",
    )
    parser.add_argument("--quick", action="store_true", help="smoke test: 1 function, 1 run")
    parser.add_argument("--output", help="results directory (default bench/results)")
    return parser


def run(args: argparse.Namespace) -> int:
    """Run the measurement ``args.kind`` names; its exit status."""
    if args.kind == "model":
        from bench import model

        return model.main(runs=args.runs or 5)
    if args.kind == "broker":
        from bench import broker

        return broker.main()
    if args.kind == "load":
        from bench import load

        return load.main()
    if args.kind == "snapshot":
        from bench import snapshot

        roles = ["--functions", *args.functions] if args.functions else []
        profile = ["--profile", args.profile] if args.profile else []
        return snapshot.main(["--runs", str(args.runs or 3), *roles, *profile])
    if args.kind == "startup":
        from bench import startup

        return startup.main(runs=args.runs or 5, role=args.function.replace("-", "_"))
    from bench import suite

    roles = tuple(f.replace("-", "_") for f in args.functions) if args.functions else suite.ROLES
    return suite.main(
        roles,
        runs=args.runs or 3,
        warm_events=args.warm_events,
        model_runs=args.model_runs,
        profile=args.profile,
        quick=args.quick,
        output=Path(args.output) if args.output else None,
        runtime=args.runtime,
    )

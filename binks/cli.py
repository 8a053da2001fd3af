"""``binks``: the project's command line."""

from __future__ import annotations

import argparse
import os
import sys

from events import VARIANTS


def _serve(args: argparse.Namespace) -> int:
    from binks.processes import FunctionSpec

    spec = FunctionSpec(args.function.replace("-", "_"), args.variant)
    os.environ.setdefault("K_SERVICE", spec.service)
    os.environ["PORT"] = str(args.port)
    command = spec.command()
    print(f"==> {spec.service} on http://127.0.0.1:{args.port} ({' '.join(command)})", flush=True)
    os.execve(command[0], command, {**os.environ, "PYTHONPATH": str(spec.environment.parents[1])})


def _demo(args: argparse.Namespace) -> int:
    from binks import demo

    return demo.main(args.repository, tuple(args.variants), scripted=args.scripted)


def _bench(args: argparse.Namespace) -> int:
    if args.kind == "model":
        from bench import model

        return model.main(runs=args.runs)
    from bench import startup

    return startup.main(runs=args.runs, role=args.function.replace("-", "_"))


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="binks", description=__doc__)
    commands = root.add_subparsers(dest="command", required=True)

    demo = commands.add_parser("demo", help="review the sample repository with both variants")
    demo.add_argument("--repository", default="bench/sample-repo", help="path under the repo")
    demo.add_argument("--variants", nargs="+", choices=VARIANTS, default=list(VARIANTS))
    demo.add_argument(
        "--scripted",
        action="store_true",
        help="use the scripted Ollama-API server (canned answers)",
    )
    demo.set_defaults(handler=_demo)

    serve = commands.add_parser("serve", help="run one function in the foreground (gunicorn)")
    serve.add_argument("function", help="role, e.g. code-reviewer")
    serve.add_argument("variant", choices=VARIANTS)
    serve.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8080")))
    serve.set_defaults(handler=_serve)

    bench = commands.add_parser("bench", help="measure: agno vs crewai startup, or the model")
    bench.add_argument(
        "kind",
        nargs="?",
        choices=("startup", "model"),
        default="startup",
        help="startup: spawn-to-ready and idle memory per variant, interleaved (default); "
        "model: tokens/s and time to first token, our Ollama API vs the binding",
    )
    bench.add_argument("--function", default="code-reviewer")
    bench.add_argument("--runs", type=int, default=5)
    bench.set_defaults(handler=_bench)
    return root


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return args.handler(args)
    except (ValueError, FileNotFoundError, RuntimeError, TimeoutError) as problem:
        print(f"binks: error: {problem}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())

"""``binks``: the project's command line."""

from __future__ import annotations

import argparse
import os
import sys
import textwrap
from pathlib import Path

from binks import bench_command
from events import VARIANTS
from localknative import command as platform_command
from localknative.paths import STATE, WORKSPACE


def client_default() -> str:
    from binks.client import DEFAULT_PLATFORM

    return DEFAULT_PLATFORM


def _serve(args: argparse.Namespace) -> int:
    """Bind the port here (0: any free one, printed) and exec the function on that socket:
    a taken port fails at once, with its reason, before any framework is imported. It
    reads repositories under ``workspace/`` unless ``BINKS_REPO_BASE`` says otherwise."""
    from localknative.instances import FunctionSpec
    from shared.listen import LOOPBACK, bind_listener, child_env, port_of

    spec = FunctionSpec(args.function.replace("-", "_"), args.variant)
    try:
        listener = bind_listener(LOOPBACK, args.port)
    except OSError as problem:
        print(f"binks serve: 127.0.0.1:{args.port}: {problem.strerror}", file=sys.stderr)
        return 1
    port = port_of(listener)
    os.environ.setdefault("K_SERVICE", spec.service)
    os.environ.setdefault("BINKS_REPO_BASE", str(WORKSPACE))  # as `binks up` gives it
    os.environ["PORT"] = str(port)
    command = spec.command()
    print(f"==> {spec.service} on http://127.0.0.1:{port} ({' '.join(command)})", flush=True)
    env = {**os.environ, **child_env(listener), "PYTHONPATH": str(spec.environment.parents[1])}
    os.execve(command[0], command, env)


def _demo(args: argparse.Namespace) -> int:
    from binks import demo

    keep = False if args.exit else None
    return demo.main(args.repository, scripted=args.scripted, port=args.port, keep_serving=keep)


def _up(args: argparse.Namespace) -> int:
    return platform_command.run(args)  # what `python -m localknative` runs


def _platform(args: argparse.Namespace):
    from binks.client import Platform

    return Platform(args.platform.rstrip("/"), Path(args.state))


def _send(args: argparse.Namespace) -> int:
    """Check the data against the type's schema, send, then (``--wait-for``) show the
    task's events as they happen until ``--count`` answers; 1 if any answer failed."""
    from binks import client

    platform = _platform(args)
    data = client.data_of(args.data, args.field)
    client.check_data(args.type, data)
    extensions = client.parse_pairs(args.extension, "--extension")
    wanted = tuple(t for item in args.wait_for for t in item.replace(",", " ").split())
    after = client.last_seq(platform) if wanted else 0
    sent = client.send(platform, args.to, args.type, args.source, data, extensions, args.id)
    print(f"sent {sent['type']} id={sent['id']} binkstask={sent['binkstask']}", file=sys.stderr)
    if not wanted:
        return 0
    print(
        f"waiting for {args.count} x {' or '.join(wanted)} (up to {args.timeout:.0f} s)",
        file=sys.stderr,
        flush=True,
    )
    answers = client.wait_for(
        platform,
        wanted,
        sent["binkstask"],
        args.timeout,
        after,
        args.count,
        on_line=lambda line: print(line, file=sys.stderr, flush=True),
    )
    for row in answers.found + answers.failed:
        client.print_event(row)
    for row in answers.failed:
        print(f"failed: {client.failure_reason(row)}", file=sys.stderr)
    return 1 if answers.failed else 0


def _events(args: argparse.Namespace) -> int:
    """The event log, oldest first; ``--follow`` keeps printing new events and prints an
    event again when a delivery of it changes state (pending → delivered or failed)."""
    import json
    import time

    import yaml

    from binks import client, views

    platform = _platform(args)
    cursor, unsettled = 0, {}  # seq → the deliveries last shown, while they can change

    def show(row: dict) -> None:
        data = (
            client.event_data(platform, row["seq"]).decode("utf-8", "replace")
            if args.data
            else None
        )
        if args.output == "json":
            print(json.dumps(views.record(row, data)), flush=True)
        elif args.output == "yaml":
            print(yaml.safe_dump([views.record(row, data)], sort_keys=False).rstrip(), flush=True)
        else:
            print(views.line(row, data), flush=True)

    while True:
        start = min(unsettled, default=cursor + 1) - 1
        for row in client.all_events(platform, start, event_type=args.type):
            shown = views.deliveries(row)
            if row["seq"] > cursor or unsettled.get(row["seq"], shown) != shown:
                show(row)
            cursor = max(cursor, row["seq"])
            if views.settled(row):
                unsettled.pop(row["seq"], None)
            else:
                unsettled[row["seq"]] = shown
        if not args.follow:
            return 0
        time.sleep(0.5)


def _describe(args: argparse.Namespace) -> int:
    """One Service in full: settings, Triggers, instances, the newest events for it."""
    from binks import client, views

    platform = _platform(args)
    rows = {row["service"]: row for row in client.ps(platform)}
    if args.service not in rows:
        known = ", ".join(sorted(rows))
        raise client.ClientError(f"no Service {args.service!r}; the platform runs: {known}")
    row = rows[args.service]
    port = platform.url.rsplit(":", 1)[-1].rstrip("/")
    url = f"http://{row['service']}.{row['namespace']}.localhost:{port}"
    print(views.description(row, url, client.recent_events(platform)))
    return 0


def _logs(args: argparse.Namespace) -> int:
    """A Service's log (every instance writes to it): the last ``--tail`` lines, then new
    ones as they come with ``--follow``."""
    import time

    from binks import client

    path = client.log_of(_platform(args), args.service)
    if not path.exists():
        print(f"{args.service} has not started yet (no {path})", file=sys.stderr)
        if not args.follow:
            return 0
    while not path.exists():
        time.sleep(0.5)
    with path.open("rb") as log:
        lines = log.read().decode("utf-8", "replace").splitlines()
        for line in lines[-args.tail :] if args.tail else lines:
            print(line, flush=True)
        while args.follow:
            chunk = log.read()
            if chunk:
                sys.stdout.write(chunk.decode("utf-8", "replace"))
                sys.stdout.flush()
            else:
                time.sleep(0.3)
    return 0


def _invoke(args: argparse.Namespace) -> int:
    from binks import client

    status, headers, body = client.invoke(
        _platform(args),
        args.service,
        args.namespace,
        args.data,
        args.format,
        args.type,
        args.source,
    )
    print(f"HTTP {status}", file=sys.stderr)
    for key, value in headers.items():
        if key.lower().startswith("ce-"):
            print(f"{key}: {value}", file=sys.stderr)
    print(body.decode(errors="replace"))
    return 0 if 200 <= status < 300 else 1


def _ps(args: argparse.Namespace) -> int:
    """Services as ``kn service list`` shows them (``views.ps_table``)."""
    from binks import client, views

    platform = _platform(args)
    print(views.ps_table(client.ps(platform), platform.url.rsplit(":", 1)[-1].rstrip("/")))
    return 0


EXAMPLES = """examples:
  binks demo                                   one task through all four roles, both variants
  binks up [--runtime container]               the local platform (Knative stand-in)
  binks send --type dev.binks.review.requested --field repository=sample-repo \\
      --wait-for dev.binks.review.completed --count 2
  binks events --follow                        every event and its deliveries, live
  binks ps                                     services, instances, cold starts, memory
  binks logs code-reviewer-agno -f             one Service's log
  binks invoke code-reviewer-crewai --format cloudevent
  binks bench --runtime container --profile pi4
"""


def parser() -> argparse.ArgumentParser:
    """The command line's options. Long on purpose: one declaration block per command, in
    the order ``binks --help`` lists them, so the whole surface reads in one place."""
    root = argparse.ArgumentParser(
        prog="binks",
        description="Binks Functions: agent roles as scale-to-zero Knative functions, each "
        "built on agno and on crewai, run and compared side by side.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = root.add_subparsers(dest="command", required=True)

    demo = commands.add_parser(
        "demo",
        help="make run: the platform, the model, one task through all four roles, both "
        "variants live, then the two reports side by side",
        description=textwrap.fill(
            "What `make run` runs. Uses Ollama at $OLLAMA_HOST when one answers, "
            "else starts the embedded model server (gemma3:270m); starts its own platform (on "
            "a free port when --port is taken, never someone else's); publishes one task to the "
            "broker, prints each hop of both chains as it happens, then the two reports side by "
            "side and each function's cold start and time in the chain. With a terminal it keeps "
            "serving until Ctrl-C; everything it started and wrote is removed when it ends.",
            88,
        ),
        epilog="examples:\n  binks demo\n  binks demo --scripted --exit      canned answers, "
        "stop after the reports\n  OLLAMA_HOST=http://127.0.0.1:11434 BINKS_MODEL=qwen2.5:7b "
        "binks demo",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    demo.add_argument(
        "--repository", default="sample-repo", help="a repository under workspace/ to review"
    )
    demo.add_argument(
        "--port", type=int, default=8470, help="platform port (default 8470; a free one if taken)"
    )
    demo.add_argument("--exit", action="store_true", help="stop after the replies are shown")
    demo.add_argument(
        "--scripted",
        action="store_true",
        help="use the scripted Ollama-API server (canned answers)",
    )
    demo.set_defaults(handler=_demo)

    serve = commands.add_parser("serve", help="run one function in the foreground")
    serve.add_argument("function", help="role, e.g. code-reviewer")
    serve.add_argument("variant", choices=VARIANTS)
    serve.add_argument(
        "--port",
        type=int,
        default=int(os.environ.get("PORT", "8080")),
        help="loopback port (default $PORT, else 8080; 0: any free one, printed)",
    )
    serve.set_defaults(handler=_serve)

    up = commands.add_parser("up", help="run the local Knative platform from knative/ manifests")
    platform_command.add_arguments(up)
    up.set_defaults(handler=_up)

    platform = argparse.ArgumentParser(add_help=False)
    platform.add_argument("--platform", default=client_default(), help="URL of `binks up`")
    platform.add_argument(
        "--state",
        default=os.environ.get("BINKS_STATE", str(STATE)),
        help="the platform's state dir, which holds its credential (default: $BINKS_STATE, "
        "else state/; or set BINKS_PLATFORM_TOKEN)",
    )

    send = commands.add_parser(
        "send", parents=[platform], help="publish a CloudEvent (kn event send)"
    )
    send.add_argument("--to", default="broker:default", help="broker:NAME or broker:NS/NAME")
    send.add_argument("--type", required=True)
    send.add_argument("--source", default="/binks/cli")
    send.add_argument("--id", default=None)
    send.add_argument("--data", default=None, help="JSON data")
    send.add_argument("--field", action="append", default=[], help="data field key=value")
    send.add_argument("--extension", "-e", action="append", default=[], help="extension k=v")
    send.add_argument(
        "--wait-for",
        action="append",
        default=[],
        metavar="TYPE[,TYPE]",
        help="wait for answers of these types in the same binkstask (repeat or comma-"
        "separate), showing the task's events meanwhile; a ...failed answer counts and "
        "makes the exit status 1",
    )
    send.add_argument("--timeout", type=float, default=300)
    send.add_argument(
        "--count", type=int, default=1, help="wait for this many (e.g. 2: one per variant)"
    )
    send.set_defaults(handler=_send)

    show = commands.add_parser("events", parents=[platform], help="the event log")
    show.add_argument("--follow", "-f", action="store_true")
    show.add_argument("--type", default=None, help="only events of this type")
    show.add_argument("--data", action="store_true", help="each event's data too")
    show.add_argument(
        "--output",
        "-o",
        choices=("text", "json", "yaml"),
        default="text",
        help="text: a line per event (default); json: one JSON object per line; yaml",
    )
    show.set_defaults(handler=_events)

    invoke = commands.add_parser(
        "invoke", parents=[platform], help="call a Service (kn func invoke)"
    )
    invoke.add_argument("service")
    invoke.add_argument("--namespace", default="default")
    invoke.add_argument(
        "--data", default=None, help="default: the example data of the event type sent"
    )
    invoke.add_argument("--format", choices=("http", "cloudevent"), default="http")
    invoke.add_argument(
        "--type",
        default=None,
        help="with --format cloudevent; default: the event the Service's role is invoked "
        "with (code-reviewer: dev.binks.review.requested, ...)",
    )
    invoke.add_argument("--source", default="/boson/fn")
    invoke.set_defaults(handler=_invoke)

    describe = commands.add_parser(
        "describe", parents=[platform], help="one Service in full (kn service describe)"
    )
    describe.add_argument("service", help="e.g. code-reviewer-agno")
    describe.set_defaults(handler=_describe)

    logs = commands.add_parser(
        "logs", parents=[platform], help="a Service's log, all its instances (kubectl logs)"
    )
    logs.add_argument("service", help="e.g. code-reviewer-agno")
    logs.add_argument("--follow", "-f", action="store_true", help="keep printing new lines")
    logs.add_argument("--tail", type=int, default=50, help="last lines first (0: all)")
    logs.set_defaults(handler=_logs)

    ps = commands.add_parser("ps", parents=[platform], help="services, instances, scale")
    ps.set_defaults(handler=_ps)

    bench = commands.add_parser(
        "bench", help="measure agno vs crewai per function (make bench), or the model, the broker"
    )
    bench_command.add_arguments(bench)
    bench.set_defaults(handler=bench_command.run)
    return root


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return args.handler(args)
    except (ValueError, FileNotFoundError, RuntimeError, TimeoutError, LookupError) as problem:
        # ClientError, ManifestError, ServingError are among these: messages name the problem
        print(f"binks: error: {problem}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
